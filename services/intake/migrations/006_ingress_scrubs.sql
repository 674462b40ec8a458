-- Issue 25: an erased customer's clear copies on the ingress topics (what a partner hotline or the channels service
-- handed intake, and their dead letters) still to be taken out (`ingress_scrub.py`). The row keeps the keys the
-- customer was found by — the phone's keyed hash and the account number, never the number itself — only until the
-- scrub has done; it is written in the erasure's own transaction, so no erasure goes without one.
CREATE TABLE ingress_scrubs (
    customer_id  uuid        PRIMARY KEY,
    phone_keys   text[]      NOT NULL,
    accounts     text[]      NOT NULL,
    requested_at timestamptz NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    -- Why the last attempt did not finish (a partition its group had not yet consumed past, Kafka away).
    last_outcome text
);
