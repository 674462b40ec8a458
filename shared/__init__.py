"""What the platform's services share: event contracts, outbox, idempotent consumers, settings, logging."""
