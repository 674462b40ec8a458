-- Issue 25: who read what. Every read of personal data in reporting by a person or through an export (the cases
-- export, a household's archive, the household lookup, a case) leaves a row: who, through which request, whose
-- (the subject: a period, an account, a case; a phone looked up is kept masked), which fields, when.
-- In a schema of its own, not `reporting`: a rebuild drops and recreates the read models' schema from the topics,
-- and an audit log cannot be derived from them, so it must survive that (IF NOT EXISTS: a side-by-side rebuild
-- applying this again leaves it as it is).
CREATE SCHEMA IF NOT EXISTS reporting_audit;

CREATE TABLE IF NOT EXISTS reporting_audit.read_access_log (
    id           bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL,
    reader       text        NOT NULL,  -- a person's staff id, or a reader key's name
    reader_name  text,                  -- a person's display name
    reader_kind  text        NOT NULL CHECK (reader_kind IN ('person', 'key')),
    role         text,                  -- a key's role (a person's roles are in the identity provider)
    endpoint     text        NOT NULL,  -- method and route template, e.g. GET /v1/cases.csv
    subject      text        NOT NULL,  -- 2026-11-01..2026-11-30, an account number, a reference number
    what         text[]      NOT NULL   -- the personal fields shown: name, phone, address, text, ...
);

CREATE INDEX IF NOT EXISTS read_access_log_at ON reporting_audit.read_access_log (at DESC);
CREATE INDEX IF NOT EXISTS read_access_log_reader ON reporting_audit.read_access_log (reader, at DESC);
