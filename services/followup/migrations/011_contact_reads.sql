-- Issue 25: who read what. Every showing of a customer's contact (name, phone, email, WeChat openid) by followup's
-- API — the callback worklist, one callback's answer — leaves a row per case: who, whose, which fields, through
-- which request, when.
CREATE TABLE contact_access_log (
    id            bigserial   PRIMARY KEY,
    at            timestamptz NOT NULL,
    reader        text        NOT NULL,  -- a person's staff id, or a key's name
    reader_name   text,                  -- a person's display name
    reader_kind   text        NOT NULL CHECK (reader_kind IN ('person', 'key')),
    complaint_id  uuid        NOT NULL,
    reference_no  text        NOT NULL,
    what          text[]      NOT NULL,
    endpoint      text        NOT NULL
);

CREATE INDEX contact_access_log_complaint ON contact_access_log (complaint_id, at DESC);
CREATE INDEX contact_access_log_reader ON contact_access_log (reader, at DESC);
