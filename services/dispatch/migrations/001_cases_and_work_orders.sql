-- Dispatch's own view of each case: what it needs to classify, detect repeats and duplicates, and
-- re-route (it never reads intake's tables).
CREATE TABLE cases (
    complaint_id          uuid        PRIMARY KEY,
    reference_no          text        NOT NULL,
    account_no            text,
    channel               text        NOT NULL,
    district              text        NOT NULL,
    text                  text        NOT NULL,
    location              jsonb       NOT NULL,
    customer              jsonb       NOT NULL,
    category_hint         text,
    accepted_at           timestamptz NOT NULL,
    category              text        NOT NULL,
    severity              text        NOT NULL,
    valid                 boolean     NOT NULL,
    invalid_reason        text,
    reasons               jsonb       NOT NULL,
    scores                jsonb       NOT NULL,
    linked_to             uuid        REFERENCES cases (complaint_id),
    cycle                 integer     NOT NULL DEFAULT 1,
    correlation_id        text        NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);
-- Repeat complaints: same account, same category, within the window.
CREATE INDEX cases_account_category ON cases (account_no, category, accepted_at) WHERE account_no IS NOT NULL;

-- Every classification a case had (automatic, supervisor reclassifications), newest last.
CREATE TABLE classification_history (
    id            bigserial   PRIMARY KEY,
    complaint_id  uuid        NOT NULL REFERENCES cases (complaint_id),
    category      text        NOT NULL,
    severity      text        NOT NULL,
    actor         text        NOT NULL,
    reason        text,
    reasons       jsonb       NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX classification_history_case ON classification_history (complaint_id, id);

CREATE TABLE work_orders (
    work_order_id     uuid        PRIMARY KEY,
    complaint_id      uuid        NOT NULL REFERENCES cases (complaint_id),
    cycle             integer     NOT NULL,
    department        text        NOT NULL,
    status            text        NOT NULL,
    category          text        NOT NULL,
    severity          text        NOT NULL,
    priority          smallint    NOT NULL,
    acknowledge_by    timestamptz NOT NULL,
    on_site_by        timestamptz,
    resolve_by        timestamptz NOT NULL,
    interim_reply_by  timestamptz,
    callback_limit    text        NOT NULL,
    policy_id         text        NOT NULL,
    previous_work_order_id uuid,
    resolution        text,
    root_cause        text,
    closing_reason    text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    acknowledged_at   timestamptz,
    started_at        timestamptz,
    resolved_at       timestamptz
);
-- One open work order per case at a time.
CREATE UNIQUE INDEX work_orders_one_open ON work_orders (complaint_id)
    WHERE status IN ('assigned', 'acknowledged', 'in_progress');
-- The department queue: open work orders by priority, then deadline.
CREATE INDEX work_orders_queue ON work_orders (department, priority, resolve_by, work_order_id)
    WHERE status IN ('assigned', 'acknowledged', 'in_progress');

-- The audit trail of a work order: every transition and note.
CREATE TABLE work_order_history (
    id             bigserial   PRIMARY KEY,
    work_order_id  uuid        NOT NULL REFERENCES work_orders (work_order_id),
    action         text        NOT NULL,
    from_status    text,
    to_status      text        NOT NULL,
    actor          text        NOT NULL,
    details        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at             timestamptz NOT NULL
);
CREATE INDEX work_order_history_order ON work_order_history (work_order_id, id);
