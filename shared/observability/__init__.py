"""What operators see of a running service: Prometheus metrics (`metrics.py`, `kafka.py`, `http.py`), facts
counted once their transaction committed (`committed.py`), and OpenTelemetry traces that follow a complaint
through HTTP, the outbox and Kafka (`tracing.py`)."""
