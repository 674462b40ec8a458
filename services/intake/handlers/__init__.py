"""Intake's use cases, one module each, every one run through the door (`shared.handling.Door`): submitting a
complaint (`submit.py`, every channel), taking a partner's ticket (`partner_tickets.py`) and reading a complaint
(`complaints.py`). A use case is `async def use_case(message, work)`; none opens a transaction or commits."""
