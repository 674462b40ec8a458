-- Followup's view of each work order: its deadlines and which steps are done.
CREATE TABLE work_orders (
    work_order_id    uuid        PRIMARY KEY,
    complaint_id     uuid        NOT NULL,
    reference_no     text        NOT NULL,
    department       text        NOT NULL,
    cycle            integer     NOT NULL,
    category         text        NOT NULL,
    severity         text        NOT NULL,
    channel          text        NOT NULL,
    starts_at        timestamptz NOT NULL,
    acknowledge_by   timestamptz NOT NULL,
    on_site_by       timestamptz,
    resolve_by       timestamptz NOT NULL,
    interim_reply_by timestamptz,
    callback_limit   text        NOT NULL,
    status           text        NOT NULL,
    acknowledged_at  timestamptz,
    started_at       timestamptz,
    resolved_at      timestamptz,
    resolution       text,
    correlation_id   text        NOT NULL
);
CREATE INDEX work_orders_complaint ON work_orders (complaint_id);

-- Restricted contact data (from complaint.contact): for callbacks and customer notifications only.
CREATE TABLE contacts (
    complaint_id      uuid PRIMARY KEY,
    name              text,
    phone             text,
    email             text,
    wechat_openid     text,
    preferred_contact text NOT NULL
);

CREATE TABLE cases (
    complaint_id        uuid    PRIMARY KEY,
    reference_no        text    NOT NULL,
    dissatisfied_count  integer NOT NULL DEFAULT 0,
    closed_at           timestamptz,
    close_outcome       text
);

-- Timers: any number of followup processes claim due rows with FOR UPDATE SKIP LOCKED; firing and its
-- effects commit together, so a timer fires once even when a process dies mid-way.
CREATE TABLE timers (
    timer_id      bigserial   PRIMARY KEY,
    complaint_id  uuid        NOT NULL,
    subject_id    uuid        NOT NULL,   -- the work order or callback the timer watches
    kind          text        NOT NULL,   -- warning | breach | interim_reply | callback_retry
    stage         text        NOT NULL,   -- acknowledge | on_site | resolve | callback
    level         integer     NOT NULL DEFAULT 0,
    due_at        timestamptz NOT NULL,
    deadline      timestamptz,
    fired_at      timestamptz,
    fired_by      text,
    cancelled_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subject_id, kind, stage, level)
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX timers_subject ON timers (subject_id) WHERE fired_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE escalations (
    id            bigserial   PRIMARY KEY,
    complaint_id  uuid        NOT NULL,
    subject_id    uuid,
    stage         text        NOT NULL,
    level         integer     NOT NULL,
    escalated_to  text        NOT NULL,
    reason        text        NOT NULL,
    timer_id      bigint      UNIQUE REFERENCES timers (timer_id),
    at            timestamptz NOT NULL
);
CREATE INDEX escalations_complaint ON escalations (complaint_id, id);

CREATE TABLE callbacks (
    callback_id      uuid        PRIMARY KEY,
    complaint_id     uuid        NOT NULL,
    work_order_id    uuid        NOT NULL UNIQUE,
    reference_no     text        NOT NULL,
    department       text        NOT NULL,
    cycle            integer     NOT NULL,
    resolution       text,
    due_at           timestamptz NOT NULL,
    status           text        NOT NULL,   -- pending | satisfied | dissatisfied | unreachable
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    last_note        text,
    last_agent       text
);
-- The agents' worklist: pending callbacks that can be made now, oldest first.
CREATE INDEX callbacks_worklist ON callbacks (next_attempt_at, due_at) WHERE status = 'pending';

-- Notifications requested, for the per-phone daily cap and the audit trail.
CREATE TABLE notifications (
    notification_id uuid        PRIMARY KEY,
    complaint_id    uuid        NOT NULL,
    template_id     text        NOT NULL,
    recipient_kind  text        NOT NULL,
    phone_key       text,
    local_day       date        NOT NULL,
    suppressed      boolean     NOT NULL,
    at              timestamptz NOT NULL
);
CREATE INDEX notifications_cap ON notifications (phone_key, local_day) WHERE NOT suppressed;
