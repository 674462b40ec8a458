-- The handling rules (issue 13): owners, invalid complaints, first-contact resolution, coordinated work orders,
-- catalogue root causes, cause analyses, corrective actions, callback surveys, and the "due in the period" KPIs.
-- Like everything here, derived from events: `python -m services.reporting.rebuild` reproduces it from offset 0.

ALTER TABLE cases
    ADD COLUMN owner               text,
    ADD COLUMN customer_agitated   boolean     NOT NULL DEFAULT false,
    ADD COLUMN handled_on_contact  text,
    ADD COLUMN resolved_on_contact boolean     NOT NULL DEFAULT false,
    ADD COLUMN invalid             boolean     NOT NULL DEFAULT false,
    ADD COLUMN invalid_reason      text,
    ADD COLUMN invalid_at          timestamptz,
    -- the resolve deadline the case is held to in timeliness (its KPI cohort there is the day this falls in)
    ADD COLUMN due_at              timestamptz,
    -- whether its first resolution on its own clock met `due_at` (null while it has none)
    ADD COLUMN resolved_in_time    boolean,
    ADD COLUMN kpi_department      text,
    ADD COLUMN kpi_category        text,
    ADD COLUMN root_cause          text,
    ADD COLUMN root_cause_zh       text,
    ADD COLUMN root_cause_en       text,
    ADD COLUMN root_cause_note     text,
    ADD COLUMN cause_analysis      jsonb,
    ADD COLUMN escalations         jsonb       NOT NULL DEFAULT '[]'::jsonb;
CREATE INDEX cases_due ON cases (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX cases_owner ON cases (owner, accepted_at) WHERE owner IS NOT NULL;
CREATE INDEX cases_serious ON cases (accepted_at) WHERE severity IN ('serious', 'emergency');

-- Complaints closed as invalid and settled at first contact, per received day (like every rollup counter).
ALTER TABLE kpi_rollup
    ADD COLUMN invalid              integer NOT NULL DEFAULT 0,
    ADD COLUMN resolved_on_contact  integer NOT NULL DEFAULT 0;

-- Every work order of a case (a coordinated case has a lead and assisting ones), with its resolution.
-- Keyed by case too: rows are a case's own, replaced with it, so no event naming another case's id can collide.
CREATE TABLE work_orders (
    work_order_id       uuid        NOT NULL,
    complaint_id        uuid        NOT NULL,
    department          text        NOT NULL,
    role                text        NOT NULL,
    lead_work_order_id  uuid,
    cycle               integer     NOT NULL,
    status              text        NOT NULL,
    area_class          text,
    assigned_at         timestamptz,
    resolve_by          timestamptz,
    resolved_at         timestamptz,
    resolution          text,
    root_cause          text,
    root_cause_zh       text,
    root_cause_en       text,
    root_cause_note     text,
    cause_analysis      jsonb,
    case_resolved       boolean,
    PRIMARY KEY (complaint_id, work_order_id)
);
CREATE INDEX work_orders_resolved ON work_orders (resolved_at) WHERE root_cause IS NOT NULL;

-- The callbacks of a case: when due, how many attempts, the latest outcome and who made it, the survey.
CREATE TABLE callbacks (
    callback_id      uuid        NOT NULL,
    complaint_id     uuid        NOT NULL,
    department       text        NOT NULL,
    cycle            integer     NOT NULL,
    owner            text,
    due_at           timestamptz NOT NULL,
    scheduled_at     timestamptz,
    attempts         integer     NOT NULL,
    outcome          text,
    final            boolean     NOT NULL,
    agent            text,
    last_attempt_at  timestamptz,
    score_supply     smallint,
    score_attitude   smallint,
    score_speed      smallint,
    score_billing    smallint,
    PRIMARY KEY (complaint_id, callback_id)
);
CREATE INDEX callbacks_due ON callbacks (due_at);
CREATE INDEX callbacks_agent ON callbacks (agent, last_attempt_at) WHERE outcome IN ('satisfied', 'dissatisfied');

-- Corrective actions of serious cases, as they stand.
CREATE TABLE corrective_actions (
    action_id      uuid        NOT NULL,
    complaint_id   uuid        NOT NULL,
    work_order_id  uuid,
    department     text        NOT NULL,
    description    text        NOT NULL,
    owner          text        NOT NULL,
    deadline       timestamptz NOT NULL,
    status         text        NOT NULL,
    set_by         text,
    set_at         timestamptz,
    completed_at   timestamptz,
    outcome        text,
    PRIMARY KEY (complaint_id, action_id)
);

-- Upgrading a populated schema in place: the KPI cohort keys move into columns, and each case's timeliness
-- deadline is the resolve deadline of the work order that first resolved it (else its current one; none for a
-- caller resolved with their group). Cases projected before this version have no work-order, callback or
-- corrective-action rows: `rebuild` fills them from the topics (a side-by-side `--schema` rebuild is the check).
UPDATE cases
   SET kpi_department = contribution -> 'key' ->> 1, kpi_category = contribution -> 'key' ->> 2,
       resolved_in_time = CASE WHEN (contribution #>> '{counters,resolved}')::int = 1
                               THEN (contribution #>> '{counters,resolved_in_time}')::int = 1 END
 WHERE contribution IS NOT NULL;
UPDATE cases c
   SET due_at = coalesce((
        SELECT (r.payload #>> '{deadlines,resolve_by}')::timestamptz
          FROM timeline r
         WHERE r.complaint_id = c.complaint_id AND r.event_type = 'complaint.routed'
           AND r.payload ->> 'work_order_id' = (
                SELECT w.payload ->> 'work_order_id' FROM timeline w
                 WHERE w.complaint_id = c.complaint_id AND w.event_type = 'workorder.resolved'
                 ORDER BY w.occurred_at, w.event_id LIMIT 1)
         LIMIT 1), c.resolve_by)
 WHERE c.contribution IS NOT NULL AND (c.contribution #>> '{counters,fixed_with_group}')::int = 0
   AND c.incident_id IS NULL AND c.outage_id IS NULL AND c.linked_to IS NULL;
