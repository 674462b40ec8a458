"""Channels' use cases, one module each, every one a plain function `(message, work)` run through the one door
(`shared.handling.Door`), which opens the transaction, writes what it emits to the outbox and commits:

- `inbound.py`: `take_message` — every protocol's raw message stored once per provider's id, and handed to intake
  as a complaint or a reply (the one use case every protocol calls);
- `cases.py`: the case read model kept from the public events, `complaint.contact` and `notification.delivery`;
- `wechat.py`, `mail.py`, `sms_replies.py`, `partner_pushes.py`, `open311.py`: each protocol area's own.

`context.py` holds what they all read: the settings and the contact hasher (`ChannelsContext`).
"""
