-- Issue 25: what each customer wrote on their cases after the complaint (a reply taken by the channels service:
-- a note, a survey score, "still not fixed"), kept by intake, which owns the subject, for a PIPL export; deleted
-- with the customer's erasure. Once per message (a redelivered reply adds nothing).
CREATE TABLE customer_messages (
    message_id   uuid        PRIMARY KEY,
    complaint_id uuid        NOT NULL,
    channel      text        NOT NULL,
    kind         text        NOT NULL,
    score        integer,
    text         text        NOT NULL,
    received_at  timestamptz NOT NULL
);
CREATE INDEX customer_messages_complaint ON customer_messages (complaint_id, received_at);
