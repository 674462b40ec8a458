"""Notify's use cases, one module each, every one a plain function `(message, work)` run through the one door
(`shared.handling.Door`), which opens the transaction, writes the events the use case emits to the outbox and
commits — no use case commits, none opens a transaction:

- `requests.py`: a `notification.requested` becomes one delivery (queued, held, suppressed or failed);
- `sending.py`: the sending worker's two units around each vendor call — claim the attempt (committed before the
  call), then record the vendor's answer;
- `receipts.py`: vendors' status reports applied to the deliveries they name;
- `inbox.py`: a staff member reads a notice (`read_notice`).

`context.py` holds what they all read: the deployment's rules, providers and staff directory (`NotifyContext`).
"""
