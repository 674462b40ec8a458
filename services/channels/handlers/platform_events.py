"""The platform's events as channels' subscriptions read them (the case read model, the partner pushes): one union
over every contract, discriminated by `event_type`, so each event is validated against its own contract and an
unknown or invalid one is poison. `notification.requested` is left out: it carries customers' addresses and is
notify's alone to read.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from shared.contracts import EVENT_TYPES

_READ = tuple(cls for name, cls in EVENT_TYPES.items() if name != "notification.requested")
#: Any event of the platform, validated against its own contract (an unknown or invalid one is poison).
PlatformEvent = Annotated[Union[_READ], Field(discriminator="event_type")]  # type: ignore[valid-type]  # noqa: UP007
