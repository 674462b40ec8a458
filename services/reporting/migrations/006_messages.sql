-- Issue 21: every message of a case and its latest delivery status (notification.delivery), and the KPI
-- "customers actually reached by message". Like 003's tables, `messages` fills from new events: run `rebuild`
-- after upgrading if deliveries were published before this release.
CREATE TABLE messages (
    notification_id      uuid        NOT NULL,
    complaint_id         uuid        NOT NULL,
    template_id          text        NOT NULL,
    recipient_kind       text        NOT NULL,
    status               text        NOT NULL,
    attempts             integer     NOT NULL,
    requested_at         timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    channel              text,
    provider             text,
    reason               text,
    provider_message_id  text,
    PRIMARY KEY (complaint_id, notification_id)
);

-- Cases with a customer message due (not suppressed by the daily cap), and those with one delivered.
ALTER TABLE kpi_rollup
    ADD COLUMN messaged            integer NOT NULL DEFAULT 0,
    ADD COLUMN reached_by_message  integer NOT NULL DEFAULT 0;
