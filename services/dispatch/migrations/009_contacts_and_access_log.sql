-- The customer's real contact data (the restricted complaint.contact event), by complaint: only persons allowed to see
-- it read it, and each read is logged below. No foreign key: the contact may arrive before the complaint is routed.
CREATE TABLE contacts (
    complaint_id       uuid        PRIMARY KEY,
    reference_no       text        NOT NULL,
    name               text,
    phone              text,
    email              text,
    wechat_openid      text,
    preferred_contact  text        NOT NULL,
    received_at        timestamptz NOT NULL
);

-- Who read whose contact details (name, phone, account, address), when and through which request: one row per case
-- a person was shown, written in the same request as the read. Supervisors list it (GET /v1/contact-access).
CREATE TABLE contact_access_log (
    id            bigserial   PRIMARY KEY,
    staff_id      text        NOT NULL,
    staff_name    text        NOT NULL,
    complaint_id  uuid        NOT NULL,
    reference_no  text        NOT NULL,
    what          text[]      NOT NULL,
    endpoint      text        NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX contact_access_log_at ON contact_access_log (at DESC, id DESC);
CREATE INDEX contact_access_log_case ON contact_access_log (complaint_id, at DESC);
CREATE INDEX contact_access_log_staff ON contact_access_log (staff_id, at DESC);

-- Cases are read by reference number too (agents have the number the customer reads out).
CREATE INDEX cases_reference_no ON cases (reference_no);
-- The names beside the staff ids: the agent who took it (complaint.received v3) and the case's owner.
ALTER TABLE cases ADD COLUMN agent_name text, ADD COLUMN owner_name text;
