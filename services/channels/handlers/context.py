"""What channels' use cases read besides the repository: the settings (every area's block of `ChannelsSettings`)
and the contact hasher of the case read model. Built once in `bootstrap.py`; frozen, so a use case cannot change
it for the next one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from services.channels.contacts import ContactHasher
from services.channels.repository import ChannelsRepository
from services.channels.settings import ChannelsSettings
from shared.handling import Work
from shared.subject_keys import NO_KEYS, KeyRing


@dataclass(frozen=True)
class ChannelsContext:
    settings: ChannelsSettings
    #: Keyed hashes of phones, mail addresses and openids (`CHANNELS_CONTACT_HASH_KEY`).
    contacts: ContactHasher
    #: Customers' keys, to open sealed contacts (`shared/subject_keys.py`; the service's reads intake's key table).
    keys: KeyRing = NO_KEYS

    @classmethod
    def from_settings(cls, settings: ChannelsSettings, keys: KeyRing = NO_KEYS) -> ChannelsContext:
        return cls(settings, ContactHasher(settings.channels_contact_hash_key.encode()), keys)


#: What a channels use case holds: the repository in the open transaction, the context, the time, `emit`.
ChannelsWork: TypeAlias = Work[ChannelsRepository, ChannelsContext]
