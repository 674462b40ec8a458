-- Doubtful complaints wait in the supervisors' triage queue; every correction is kept as a labelled example.

ALTER TABLE cases
    ADD COLUMN triage_since   timestamptz,
    ADD COLUMN triaged_at     timestamptz,
    ADD COLUMN triaged_by     text,
    ADD COLUMN suggestions    jsonb,
    ADD COLUMN model_version  text;
-- The triage queue: waiting cases, oldest first.
CREATE INDEX cases_triage ON cases (triage_since) WHERE triage_since IS NOT NULL AND triaged_at IS NULL;

ALTER TABLE classification_history ADD COLUMN model_version text;

-- What a person decided where the classifier had decided (or could not): a supervisor's reclassification, a triage
-- decision, a department's return. Retraining reads them with the seed set (services/dispatch/learning).
CREATE TABLE labelled_examples (
    id                  bigserial   PRIMARY KEY,
    complaint_id        uuid        NOT NULL,
    text                text        NOT NULL,
    channel             text        NOT NULL,
    predicted_category  text        NOT NULL,
    predicted_severity  text        NOT NULL,
    category            text        NOT NULL,
    severity            text        NOT NULL,
    department          text        NOT NULL,
    source              text        NOT NULL,   -- reclassify | triage | return
    actor               text        NOT NULL,
    model_version       text,
    at                  timestamptz NOT NULL
);
CREATE INDEX labelled_examples_at ON labelled_examples (at);
