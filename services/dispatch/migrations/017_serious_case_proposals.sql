-- Serious and emergency cases (issue 24): the lead department proposes the cause analysis and corrective actions,
-- leadership (or HR/administration) approves them or sends them back with a reason; the lead work order resolves
-- only once they are approved. One row per lead work order: its latest proposal and where it stands; every step is
-- also an event (`serious_case.*` on `corrective-actions`) and a line of the work order's history.
CREATE TABLE serious_proposals (
    work_order_id      uuid        PRIMARY KEY REFERENCES work_orders (work_order_id),
    complaint_id       uuid        NOT NULL,
    reference_no       text        NOT NULL,
    department         text        NOT NULL,
    severity           text        NOT NULL,
    round              integer     NOT NULL CHECK (round >= 1),
    cause_analysis     text        NOT NULL,
    corrective_actions jsonb       NOT NULL,
    status             text        NOT NULL CHECK (status IN ('proposed', 'sent_back', 'approved')),
    proposed_by        text        NOT NULL,
    proposed_by_name   text,
    proposed_at        timestamptz NOT NULL,
    decided_by         text,
    decided_by_name    text,
    decided_at         timestamptz,
    decision_note      text
);
CREATE INDEX serious_proposals_waiting ON serious_proposals (proposed_at) WHERE status = 'proposed';
