-- Crypto-shredding (issue 25, README "Personal data"): one AES-256 key per customer. Contact fields leave intake
-- only sealed with it (complaint.contact v2); erasing the customer deletes the row, and every copy becomes
-- unreadable. The one table of intake read outside intake (shared/subject_keys.py), read-only.
CREATE TABLE subject_keys (
    customer_id uuid        PRIMARY KEY,
    key         bytea       NOT NULL CHECK (octet_length(key) = 32),
    created_at  timestamptz NOT NULL
);

-- Who exported, corrected or erased whose data, when and why (PIPL requests and the retention sweep).
CREATE TABLE privacy_log (
    entry_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action       text        NOT NULL CHECK (action IN ('export', 'correction', 'erasure')),
    customer_id  uuid,
    subject      text        NOT NULL,
    actor        text        NOT NULL,
    reason       text        NOT NULL,
    complaint_ids uuid[]     NOT NULL DEFAULT '{}',
    at           timestamptz NOT NULL
);
CREATE INDEX privacy_log_customer ON privacy_log (customer_id, at);

-- Erasing a customer finds their complaints; retention finds customers whose last case closed long ago.
CREATE INDEX complaints_customer ON complaints (customer_id);
ALTER TABLE complaints ADD COLUMN closed_at timestamptz;
