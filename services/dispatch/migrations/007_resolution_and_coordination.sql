-- Resolutions name a catalogue root cause (root_causes.toml) with a note; serious and emergency cases carry a
-- cause analysis and corrective actions. A coordinated case has one lead work order and assisting ones.

ALTER TABLE work_orders
    ADD COLUMN role                text NOT NULL DEFAULT 'lead' CHECK (role IN ('lead', 'assisting')),
    ADD COLUMN lead_work_order_id  uuid REFERENCES work_orders (work_order_id),
    ADD COLUMN root_cause_note     text,
    ADD COLUMN cause_analysis      text,
    ADD COLUMN cause_analysed_by   text;

-- One open LEAD work order per case at a time; assisting ones open beside it (one per department, checked by
-- dispatch when it opens one).
DROP INDEX work_orders_one_open;
CREATE UNIQUE INDEX work_orders_one_open_lead ON work_orders (complaint_id)
    WHERE role = 'lead' AND status IN ('assigned', 'acknowledged', 'in_progress');
CREATE INDEX work_orders_assisting ON work_orders (lead_work_order_id) WHERE lead_work_order_id IS NOT NULL;

-- Corrective actions of serious cases: set at resolution or later by a supervisor, completed with an outcome.
-- complaint_id is the case's (an incident's id for an incident's work order), so no foreign key.
CREATE TABLE corrective_actions (
    action_id      uuid        PRIMARY KEY,
    complaint_id   uuid        NOT NULL,
    reference_no   text        NOT NULL,
    work_order_id  uuid        REFERENCES work_orders (work_order_id),
    department     text        NOT NULL,
    severity       text        NOT NULL,
    description    text        NOT NULL,
    owner          text        NOT NULL,
    deadline       timestamptz NOT NULL,
    status         text        NOT NULL CHECK (status IN ('open', 'done')),
    set_by         text        NOT NULL,
    set_at         timestamptz NOT NULL,
    outcome        text,
    completed_by   text,
    completed_at   timestamptz
);
CREATE INDEX corrective_actions_case ON corrective_actions (complaint_id, set_at);
CREATE INDEX corrective_actions_open ON corrective_actions (deadline) WHERE status = 'open';
