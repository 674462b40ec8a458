-- Every raw inbound message, as the provider sent it, once per provider's id (the dedupe), and what became of
-- it: handed to intake as a complaint (complaint_id minted here, adopted by intake) or as a reply, or kept only.
CREATE TABLE inbound_messages (
    message_id          uuid        PRIMARY KEY,
    provider            text        NOT NULL,
    provider_message_id text        NOT NULL,
    channel             text        NOT NULL,
    content_type        text        NOT NULL,
    -- Restricted: the raw body holds the sender's contact data.
    raw_body            bytea       NOT NULL,
    received_at         timestamptz NOT NULL,
    stored_at           timestamptz NOT NULL,
    status              text        NOT NULL CHECK (status IN ('complaint', 'reply', 'ignored')),
    complaint_id        uuid,
    reference_no        text,
    detail              text,
    skipped_attachments text[]      NOT NULL DEFAULT '{}',
    UNIQUE (provider, provider_message_id)
);
CREATE INDEX inbound_messages_complaint ON inbound_messages (complaint_id) WHERE complaint_id IS NOT NULL;

-- Files customers sent (mail attachments, WeChat images), size-limited (CHANNELS_ATTACHMENT_MAX_BYTES).
CREATE TABLE attachments (
    attachment_id uuid        PRIMARY KEY,
    message_id    uuid        NOT NULL REFERENCES inbound_messages (message_id),
    file_name     text        NOT NULL,
    content_type  text        NOT NULL,
    size_bytes    integer     NOT NULL,
    content       bytea       NOT NULL,
    stored_at     timestamptz NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);

-- Who read which attachment when: every staff read is attributable.
CREATE TABLE attachment_reads (
    attachment_id uuid        NOT NULL REFERENCES attachments (attachment_id),
    read_by       text        NOT NULL,
    read_at       timestamptz NOT NULL
);
CREATE INDEX attachment_reads_attachment ON attachment_reads (attachment_id, read_at);
