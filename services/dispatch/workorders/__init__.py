"""Work orders: their lifecycle rules and storage."""
