"""Kafka wiring shared by every service: broker factory, dead letters, the guarded consumer."""
