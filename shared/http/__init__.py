"""HTTP pieces every service's API shares: problem+json errors, body limits, request context, health."""
