-- The partner hotlines' tickets (12345, 95598) among our complaints: what their pushes are about.
CREATE TABLE partner_tickets (
    complaint_id  uuid        PRIMARY KEY,
    partner       text        NOT NULL,
    ticket_id     text        NOT NULL,
    reference_no  text        NOT NULL,
    registered_at timestamptz NOT NULL,
    UNIQUE (partner, ticket_id)
);

-- Every state told (or to tell) a partner about its ticket: 签收 accept, 退单 return, 延期 extend, 办结 reply,
-- 回访 visit. `push_id` is the partner's Idempotency-Key (derived from the event that caused it); `seq` the order
-- the events were handled in: a push goes only once every earlier push of its ticket is delivered or refused.
-- The worker leases the oldest open push of a ticket (`leased_until`) for one call, so a crash mid-call only
-- delays it, and records the partner's answer on the row.
CREATE TABLE partner_pushes (
    push_id         uuid        PRIMARY KEY,
    seq             bigserial   NOT NULL UNIQUE,
    complaint_id    uuid        NOT NULL REFERENCES partner_tickets (complaint_id),
    partner         text        NOT NULL,
    ticket_id       text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('accept', 'return', 'extend', 'reply', 'visit')),
    fields          jsonb       NOT NULL,
    occurred_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'refused')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    leased_until    timestamptz,
    answer_status   integer,
    answer_body     text,
    receipt_id      text,
    last_error      text,
    answered_at     timestamptz
);
-- The open pushes, per ticket in order: the worker's head-of-line read.
CREATE INDEX partner_pushes_open ON partner_pushes (partner, ticket_id, seq) WHERE status = 'pending';
CREATE INDEX partner_pushes_complaint ON partner_pushes (complaint_id, seq);
