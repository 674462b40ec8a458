"""Event contracts: the platform's public API to other departments. Versioned; changed only compatibly."""

from shared.contracts.complaint import (
    Asset,
    AssetType,
    Category,
    Channel,
    ComplaintContact,
    ComplaintContactPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Coordinates,
    CustomerPublic,
    Location,
    PreferredContact,
)
from shared.contracts.envelope import EVENT_TYPES, Event, new_event

__all__ = [
    "EVENT_TYPES",
    "Asset",
    "AssetType",
    "Category",
    "Channel",
    "ComplaintContact",
    "ComplaintContactPayload",
    "ComplaintReceived",
    "ComplaintReceivedPayload",
    "Coordinates",
    "CustomerPublic",
    "Event",
    "Location",
    "PreferredContact",
    "new_event",
]
