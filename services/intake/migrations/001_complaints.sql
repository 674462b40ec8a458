-- Received complaints as submitted, with what makes intake idempotent.
CREATE TABLE complaints (
    complaint_id        uuid        PRIMARY KEY,
    reference_no        text        NOT NULL UNIQUE,
    channel             text        NOT NULL,
    channel_ticket_id   text,
    idempotency_key     text,
    request_fingerprint text        NOT NULL,
    received_at         timestamptz NOT NULL,
    accepted_at         timestamptz NOT NULL DEFAULT now(),
    correlation_id      text        NOT NULL,
    submission          jsonb       NOT NULL
);

-- A channel's own ticket id, and a caller's Idempotency-Key, each identify one complaint.
CREATE UNIQUE INDEX complaints_channel_ticket ON complaints (channel, channel_ticket_id)
    WHERE channel_ticket_id IS NOT NULL;
CREATE UNIQUE INDEX complaints_idempotency_key ON complaints (channel, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Reference numbers restart every day (TS-YYYYMMDD-NNNNNN) so they stay short enough to read out.
CREATE TABLE reference_counters (
    day        date    PRIMARY KEY,
    last_value integer NOT NULL
);
