"""The console's use cases, every one run through the door (`shared.handling.Door`): a session's life
(`sessions.py`: a sign-in remembered and taken, a session opened, found, refreshed, ended, swept) and the staff
directory's imports (`directory.py`). A use case is `async def use_case(message, work)`; none opens a transaction
or commits. The flows that call the identity provider between two units of work are `signing_in.py`'s."""

from services.console.model import id_hash

__all__ = ["id_hash"]  # where tests and tools have always found it
