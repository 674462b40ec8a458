-- WeChat (services/channels/wechat/, handlers/wechat.py).
--
-- A chat message says what is wrong but seldom where: a message from a customer whose address we do not know yet
-- waits here, with a form link (its token) sent back in the passive reply; when the customer completes the form
-- page, the waiting messages become one complaint (inbound_messages, under the first message's MsgId) and what
-- the customer entered is kept for their next message. Restricted: openids, addresses and phones are personal data;
-- nothing here leaves the channels service except in the restricted channel.complaint.
CREATE TABLE wechat_customers (
    openid      text        PRIMARY KEY,
    address     text        NOT NULL,
    district    text        NOT NULL,
    account_no  text,
    phone       text,
    name        text,
    latitude    double precision,
    longitude   double precision,
    updated_at  timestamptz NOT NULL
);

-- Messages waiting for the form: one row per WeChat MsgId (WeChat's retries of a push insert nothing more), grouped
-- by the form token of the customer's open form.
CREATE TABLE wechat_pending (
    msg_id       text        PRIMARY KEY,
    openid       text        NOT NULL,
    form_token   text        NOT NULL,
    msg_type     text        NOT NULL,
    text         text        NOT NULL,
    -- An image message's picture at WeChat: fetched into an attachment when the form is completed.
    pic_url      text,
    latitude     double precision,
    longitude    double precision,
    raw_xml      bytea       NOT NULL,
    received_at  timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    -- The inbound message the form made of it (NULL while it waits).
    message_id   uuid
);
CREATE INDEX wechat_pending_token ON wechat_pending (form_token);
CREATE INDEX wechat_pending_open ON wechat_pending (openid, expires_at) WHERE message_id IS NULL;
