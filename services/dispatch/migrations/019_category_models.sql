-- Issue 24: the category model retrained from people's corrections. Each row is one candidate — asked for by a
-- supervisor or the schedule, fitted (training), scored on the blind set beside the model it would replace
-- (candidate), promoted through the gate (current: the model every replica classifies with; the one before it
-- retired), or failed with the reason. No `current` row: the model shipped with dispatch serves.
CREATE TABLE category_models (
    candidate_id       uuid        PRIMARY KEY,
    status             text        NOT NULL CHECK (status IN ('training', 'candidate', 'current', 'retired', 'failed')),
    version            text,
    model              bytea,
    trained_on         integer,
    corrections        integer,
    held_out           integer,
    figures            jsonb,
    baseline_version   text,
    baseline_figures   jsonb,
    passes             boolean,
    error              text,
    requested_by       text        NOT NULL,
    requested_by_name  text        NOT NULL,
    requested_at       timestamptz NOT NULL,
    trained_at         timestamptz,
    promoted_by        text,
    promoted_at        timestamptz
);
-- One model serves at a time; at most one training runs at a time (a second request is refused while it does).
CREATE UNIQUE INDEX category_models_one_current ON category_models ((true)) WHERE status = 'current';
CREATE UNIQUE INDEX category_models_one_training ON category_models ((true)) WHERE status = 'training';
CREATE INDEX category_models_requested ON category_models (requested_at DESC);
