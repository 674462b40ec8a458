"""Dispatch: classifies each complaint, routes it to a department queue and runs the work-order lifecycle."""
