-- Issue 25: `Idempotency-Key` on the service's POSTs (shared/http/idempotency_keys.py): per credential (a hash of
-- the key or token presented) and key, the request's fingerprint and, once it finished, its answer. A row whose
-- answer is missing is a request still running (or a process that died: taken over after locked_until).
CREATE TABLE idempotency_keys (
    caller       text        NOT NULL,
    key          text        NOT NULL,
    request      text        NOT NULL,
    status       smallint,
    headers      text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
-- Answers are kept a day (then the key may be used afresh); the middleware deletes older rows as it goes.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
