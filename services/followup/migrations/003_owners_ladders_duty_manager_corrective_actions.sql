-- Issue 13: who owns a case, which ladder each clock climbs, the duty manager's call, corrective actions,
-- complaints closed as invalid, and the callback survey.

-- The case's owner and the district (its area class picks the SLA rule's ladder); the ladder its clocks climb.
ALTER TABLE work_orders
    ADD COLUMN owner    text,
    ADD COLUMN role     text NOT NULL DEFAULT 'lead',
    ADD COLUMN district text,
    ADD COLUMN ladder   text NOT NULL DEFAULT 'default';

-- Every clock names the ladder its breach climbs (older rows: the default ladder).
ALTER TABLE timers ADD COLUMN ladder text NOT NULL DEFAULT 'default';
ALTER TABLE escalations ADD COLUMN ladder text;

-- Whom the callback is for (the case's owner), the ladder of its clock, and the survey's 1-5 scores.
ALTER TABLE callbacks
    ADD COLUMN owner  text,
    ADD COLUMN ladder text NOT NULL DEFAULT 'default',
    ADD COLUMN scores jsonb;
CREATE INDEX callbacks_owner ON callbacks (owner, next_attempt_at) WHERE status = 'pending';

-- A counter complaint not settled on the spot, or an agitated customer: the duty manager is called and
-- must acknowledge within the policy's limit.
CREATE TABLE duty_calls (
    complaint_id     uuid        PRIMARY KEY,
    reference_no     text        NOT NULL,
    channel          text        NOT NULL,
    reason           text        NOT NULL,
    correlation_id   text        NOT NULL,
    called_at        timestamptz NOT NULL,
    acknowledge_by   timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    note             text
);

-- Corrective actions of serious cases, held to their deadlines.
CREATE TABLE corrective_actions (
    action_id       uuid        PRIMARY KEY,
    complaint_id    uuid        NOT NULL,
    reference_no    text        NOT NULL,
    work_order_id   uuid,
    department      text        NOT NULL,
    owner           text        NOT NULL,
    deadline        timestamptz NOT NULL,
    status          text        NOT NULL,   -- open | done
    correlation_id  text        NOT NULL,
    set_at          timestamptz NOT NULL,
    completed_at    timestamptz
);
CREATE INDEX corrective_actions_complaint ON corrective_actions (complaint_id);

-- Complaints closed as invalid: the customer is told why, once.
CREATE TABLE invalid_complaints (
    complaint_id    uuid        PRIMARY KEY,
    reference_no    text        NOT NULL,
    reason          text        NOT NULL,
    correlation_id  text        NOT NULL,
    invalid_at      timestamptz NOT NULL,
    told_at         timestamptz
);
