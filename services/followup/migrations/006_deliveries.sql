-- Issue 21: notify delivers every message and holds the daily cap; followup requests and records each one.

-- The cap is notify's now: the per-number index goes; older rows keep their day, number key and suppressed flag.
DROP INDEX IF EXISTS notifications_cap;
ALTER TABLE notifications
    ALTER COLUMN local_day DROP NOT NULL,
    ALTER COLUMN suppressed SET DEFAULT false,
    ADD COLUMN urgency        text NOT NULL DEFAULT 'routine',
    ADD COLUMN reference_no   text,
    ADD COLUMN correlation_id text,
    ADD COLUMN text           text;

-- A complaint as received, until its contact is known too: the customer gets the reference number once.
CREATE TABLE receipts (
    complaint_id    uuid        PRIMARY KEY,
    reference_no    text        NOT NULL,
    channel         text        NOT NULL,
    settled         boolean     NOT NULL,
    correlation_id  text        NOT NULL,
    received_at     timestamptz NOT NULL,
    told_at         timestamptz
);

-- The callbacks worklist also holds agents' tasks: phone a customer a message could not reach.
ALTER TABLE callbacks
    ADD COLUMN kind        text NOT NULL DEFAULT 'callback',
    ADD COLUMN reason      text,
    ADD COLUMN template_id text,
    ADD COLUMN message     text;

-- What will change: a corrective action is told to the customer with the resolution.
ALTER TABLE corrective_actions ADD COLUMN description text;
