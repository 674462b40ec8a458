-- Where the complaints mailbox reader stands, per mailbox: the UIDVALIDITY of the mailbox it read and the highest
-- UID taken. Advanced in the same transaction as the mail it took, so a restart (of channels or of the IMAP server)
-- starts after the last mail taken: nothing lost, nothing read twice. When the server's UIDVALIDITY changes (the
-- mailbox was rebuilt), the UIDs mean nothing any more: the reader reads it again from the start, and the mails'
-- Message-IDs (inbound_messages' dedupe) keep those it took before from becoming second complaints.
CREATE TABLE mail_reader_state (
    mailbox     text        PRIMARY KEY,
    uidvalidity bigint      NOT NULL,
    last_uid    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL
);
