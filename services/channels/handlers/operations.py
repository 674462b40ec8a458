"""What the readiness check and Prometheus read of the database, through the door like everything else."""

from __future__ import annotations

from services.channels.handlers.context import ChannelsWork


async def outbox_depth(_: None, work: ChannelsWork) -> int:
    """Events committed and not yet published: a growing number means the relay (or Kafka) is stuck."""
    return await work.repo.outbox_pending()
