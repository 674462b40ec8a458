"""All SQL of channels (schema `channels`), one module per area, each holding the area's Protocol (what its use
cases need) and its Postgres implementation (a mixin over `self.conn`). `protocol.py` composes the Protocols into
`ChannelsRepository`, `postgres.py` the implementations into `PostgresChannelsRepository`; the in-memory fake
(`tests/fakes/channels.py`) composes fakes the same way. The repository never commits: the door does.

Adding an area: `repository/<area>.py` with `class <Area>Store(Protocol)` and `class Postgres<Area>Store`, then one
line in each composition (and a fake mixin in `tests/fakes/channels.py`).
"""

from services.channels.repository.postgres import PostgresChannelsRepository
from services.channels.repository.protocol import ChannelsRepository

__all__ = ["ChannelsRepository", "PostgresChannelsRepository"]
