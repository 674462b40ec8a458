-- One delivery per notification_id (the request's idempotency key): the message, every way to reach its
-- recipient (plan, restricted: it holds addresses), the one in use (step), and what became of it.
CREATE TABLE deliveries (
    notification_id     uuid        PRIMARY KEY,
    complaint_id        uuid        NOT NULL,
    correlation_id      text        NOT NULL,
    template_id         text        NOT NULL,
    locale              text        NOT NULL,
    recipient_kind      text        NOT NULL,
    urgency             text        NOT NULL,
    reference_no        text,
    params              jsonb       NOT NULL DEFAULT '{}'::jsonb,
    text                text        NOT NULL,
    plan                jsonb       NOT NULL DEFAULT '[]'::jsonb,
    step                integer     NOT NULL DEFAULT 0,
    -- The current candidate of the plan, in columns for the API and the receipts' lookups.
    channel             text,
    provider            text,
    address             text,
    status              text        NOT NULL,
    reason              text,
    attempts            integer     NOT NULL DEFAULT 0,
    channel_attempts    integer     NOT NULL DEFAULT 0,
    channels_tried      text[]      NOT NULL DEFAULT '{}',
    provider_message_id text,
    -- When the sending worker may take it next (a retry's backoff, the end of quiet hours, a lease's end).
    due_at              timestamptz,
    -- An attempt was claimed (committed) and its answer is not recorded yet: a crash here leaves it true.
    in_doubt            boolean     NOT NULL DEFAULT false,
    attempt_started_at  timestamptz,
    claimed_by          text,
    -- The daily cap: a hash of the customer's identity and the local day of the request.
    cap_key             text,
    local_day           date,
    -- Staff notices: the person (the console inbox is a view of these) and when they read it.
    staff_id            text,
    read_at             timestamptz,
    requested_at        timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL,
    delivered_at        timestamptz,
    CONSTRAINT deliveries_status CHECK (status IN ('queued', 'sent', 'delivered', 'failed', 'suppressed'))
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'queued';
CREATE INDEX deliveries_complaint ON deliveries (complaint_id, requested_at);
CREATE INDEX deliveries_cap ON deliveries (cap_key, local_day) WHERE cap_key IS NOT NULL;
CREATE INDEX deliveries_provider_message ON deliveries (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX deliveries_inbox ON deliveries (staff_id, requested_at DESC) WHERE staff_id IS NOT NULL;
CREATE INDEX deliveries_recent ON deliveries (updated_at DESC);

-- Every provider call, written before the call (finished_at empty until its answer is recorded).
CREATE TABLE attempts (
    notification_id     uuid        NOT NULL REFERENCES deliveries (notification_id),
    attempt             integer     NOT NULL,
    channel             text        NOT NULL,
    provider            text        NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    outcome             text,
    detail              text,
    provider_message_id text,
    PRIMARY KEY (notification_id, attempt)
);
