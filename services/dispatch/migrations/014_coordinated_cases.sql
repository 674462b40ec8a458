-- Issue 24 (seed 002): the customer-service centre coordinates multi-department cases. One row per case it took
-- over: who opened the coordination, when, and why. The parts are the case's work orders (role lead / assisting,
-- migrations/007); the steering steps (lead changed, a part's deadline, an instruction) are history entries of the
-- parts they touch and events on `coordination.events`.
CREATE TABLE coordinated_cases (
    complaint_id   uuid        PRIMARY KEY,
    reference_no   text        NOT NULL UNIQUE,
    opened_by      text        NOT NULL,
    opened_by_name text        NOT NULL,
    opened_at      timestamptz NOT NULL,
    note           text        NOT NULL DEFAULT ''
);
CREATE INDEX coordinated_cases_opened ON coordinated_cases (opened_at DESC);
