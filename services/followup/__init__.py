"""Followup: SLA clocks, the escalation ladder, interim replies, and a callback to every customer."""
