-- The case read model: every complaint, from the public events and the restricted complaint.contact. Contact data
-- only as keyed HMAC-SHA256 hashes (CHANNELS_CONTACT_HASH_KEY): a phone, its last four digits (the status page),
-- an email address, a WeChat openid. Open311, the status page, SMS and mail replies and the partner pushes read it.
CREATE TABLE cases (
    complaint_id       uuid        PRIMARY KEY,
    reference_no       text        UNIQUE,
    channel            text,
    channel_ticket_id  text,
    status             text        NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'routed', 'in_progress', 'resolved', 'closed', 'invalid')),
    -- When the event that set the status happened: events of one case come on several topics, in any order.
    status_at          timestamptz,
    category           text,
    department         text,
    status_notes       text,
    eta                timestamptz,
    district           text,
    latitude           double precision,
    longitude          double precision,
    phone_hash         text,
    phone_last4_hash   text,
    email_hash         text,
    wechat_openid_hash text,
    received_at        timestamptz,
    last_message_at    timestamptz,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX cases_phone ON cases (phone_hash, last_message_at DESC) WHERE phone_hash IS NOT NULL;
CREATE INDEX cases_email ON cases (email_hash) WHERE email_hash IS NOT NULL;
CREATE INDEX cases_openid ON cases (wechat_openid_hash) WHERE wechat_openid_hash IS NOT NULL;
CREATE INDEX cases_channel_ticket ON cases (channel, channel_ticket_id) WHERE channel_ticket_id IS NOT NULL;

-- The messages sent to the customer about their case (notification.delivery): template, channel, status, time.
-- One row per notification, its latest status; no address and no text.
CREATE TABLE case_messages (
    notification_id uuid        PRIMARY KEY,
    complaint_id    uuid        NOT NULL,
    template_id     text        NOT NULL,
    channel         text,
    status          text        NOT NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX case_messages_case ON case_messages (complaint_id, at);
