-- A partner ticket's states that cannot be queued yet (handlers/partner_pushes.py): a 退单, 办结 or 回访 read before
-- the complaint.received (签收) that registers its ticket — the subscription reads several topics, and a consumer
-- catching up a backlog meets them in different batches — and a 回访 whose 办结 is not queued yet. Taken out and
-- queued in the order they happened once the ticket (or the 办结) is there; dropped when complaint.received shows a
-- complaint of another channel, or once older than the push window (7 days: history, not news).
CREATE TABLE partner_held_states (
    push_id      uuid        PRIMARY KEY,
    complaint_id uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('return', 'reply', 'visit')),
    fields       jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL,
    held_at      timestamptz NOT NULL
);
CREATE INDEX partner_held_states_complaint ON partner_held_states (complaint_id);
CREATE INDEX partner_held_states_occurred ON partner_held_states (occurred_at);
