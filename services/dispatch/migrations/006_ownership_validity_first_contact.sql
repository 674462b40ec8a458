-- Issue 13, the entry side: who owns each case, what an agent settled at first contact, invalid complaints
-- (closed by the classifier or a supervisor), and the area class whose limits a work order got.

ALTER TABLE cases
    -- The first staff member who took it: the agent (agent_id), else the supervisor who triaged or decided its
    -- validity, else the department credential that acknowledged its first work order.
    ADD COLUMN owner                  text,
    ADD COLUMN agent_id               text,
    ADD COLUMN handled_on_contact     text,
    ADD COLUMN customer_agitated      boolean     NOT NULL DEFAULT false,
    -- Closed as invalid: when and by whom ('dispatch' or a supervisor); `valid` and `invalid_reason` say why.
    ADD COLUMN invalid_at             timestamptz,
    ADD COLUMN invalid_by             text,
    -- Settled at first contact: the resolution that stands where a work order would (its callback names it).
    ADD COLUMN resolution_id          uuid,
    ADD COLUMN resolved_on_contact_at timestamptz;

-- city, rural or remote: which of the policy's limits applied (null on work orders opened before).
ALTER TABLE work_orders ADD COLUMN area_class text;
