-- Issue 24: an escalation has an answer step. Each rung climbed gets an id the answering department names, the case
-- it is about (so a step can be published without another lookup), the deadline of the clock that ran out, and by
-- when the department must answer (then the next rung hears of it). The answer step's latest state sits beside it;
-- its history is the events (escalation.acknowledged / answered / sent_back), on the case's timeline in reporting.
ALTER TABLE escalations
    ADD COLUMN escalation_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN deadline             timestamptz,
    ADD COLUMN department           text,
    ADD COLUMN reference_no         text,
    ADD COLUMN correlation_id       text,
    ADD COLUMN work_order_id        uuid,
    ADD COLUMN answer_by            timestamptz,
    ADD COLUMN status               text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'acknowledged', 'answered', 'sent_back')),
    ADD COLUMN acknowledged_at      timestamptz,
    ADD COLUMN acknowledged_by      text,
    ADD COLUMN acknowledged_by_name text,
    ADD COLUMN action               text,
    ADD COLUMN promised_by          timestamptz,
    ADD COLUMN answered_at          timestamptz,
    ADD COLUMN answered_by          text,
    ADD COLUMN answered_by_name     text,
    ADD COLUMN instruction          text,
    ADD COLUMN sent_back_at         timestamptz,
    ADD COLUMN sent_back_by         text,
    ADD COLUMN sent_back_by_name    text;
CREATE UNIQUE INDEX escalations_escalation_id ON escalations (escalation_id);
-- The escalated people's lists: by rung and department, newest first.
CREATE INDEX escalations_reached ON escalations (escalated_to, department, at DESC);
-- The answer step's check that a rung is still its clock's latest (climbed_past), and the lists that leave out
-- the rungs climbed past.
CREATE INDEX escalations_climb ON escalations (subject_id, stage, level);
