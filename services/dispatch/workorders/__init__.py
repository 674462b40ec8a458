"""Work orders: the lifecycle state machine (their storage is in ../repository.py)."""
