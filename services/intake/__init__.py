"""Intake: takes complaints from every channel and publishes `complaint.received`."""
