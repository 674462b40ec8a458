-- Issue 26: a work order's step that arrives before its assignment (a replay, or events of one complaint published
-- out of order by an older release's relays) is held here and applied right after the assignment is tracked, so a
-- resolved work order gets no live clock and its callback still comes. Rows older than 7 days are dropped.
CREATE TABLE held_work_order_events (
    event_id      uuid        PRIMARY KEY,
    work_order_id uuid        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    held_at       timestamptz NOT NULL,
    body          jsonb       NOT NULL
);
CREATE INDEX held_work_order_events_order ON held_work_order_events (work_order_id, occurred_at);
