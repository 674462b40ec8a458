"""The platform's services, each its own process: intake, dispatch, followup, reporting."""
