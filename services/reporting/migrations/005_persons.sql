-- Issue 20: staff are persons. The case names its owner's display name and when the channel received it (the
-- household lookup shows it); a work order who resolved it (the per-staff report counts a person's resolutions);
-- a callback the display name of who made it and how (phone, letter, visit). Derived from events like everything
-- here: `python -m services.reporting.rebuild` reproduces it from offset 0.

ALTER TABLE cases
    ADD COLUMN owner_name  text,
    ADD COLUMN received_at timestamptz;

ALTER TABLE work_orders
    ADD COLUMN resolved_by      text,
    ADD COLUMN resolved_by_name text;
CREATE INDEX work_orders_resolved_by ON work_orders (resolved_by, resolved_at) WHERE resolved_by IS NOT NULL;

ALTER TABLE callbacks
    ADD COLUMN agent_name text,
    ADD COLUMN method     text;

-- The agents' household lookup finds a household by the caller's phone number.
CREATE INDEX contacts_phone ON contacts (phone) WHERE phone IS NOT NULL;

-- Upgrading a populated schema in place, from the timeline: when each case was received, who resolved each work
-- order, who made each callback's latest attempt (by name) and how. The owner's display name is derived from the
-- whole case (`actors`): events giving persons' names arrive with this release, and a schema that already holds
-- some gets it from `rebuild` (a side-by-side `--schema` rebuild is the check, as in 003).
UPDATE cases c
   SET received_at = (t.payload ->> 'received_at')::timestamptz
  FROM timeline t
 WHERE t.complaint_id = c.complaint_id AND t.event_type = 'complaint.received';
UPDATE work_orders w
   SET resolved_by = r.payload ->> 'actor', resolved_by_name = r.payload ->> 'actor_name'
  FROM (SELECT DISTINCT ON (complaint_id, payload ->> 'work_order_id') complaint_id, payload
          FROM timeline WHERE event_type = 'workorder.resolved'
         ORDER BY complaint_id, payload ->> 'work_order_id', occurred_at DESC, event_id DESC) r
 WHERE r.complaint_id = w.complaint_id AND r.payload ->> 'work_order_id' = w.work_order_id::text;
UPDATE callbacks b
   SET agent_name = a.payload ->> 'agent_name', method = a.payload ->> 'method'
  FROM (SELECT DISTINCT ON (complaint_id, payload ->> 'callback_id') complaint_id, payload
          FROM timeline WHERE event_type = 'callback.attempted'
         ORDER BY complaint_id, payload ->> 'callback_id', occurred_at DESC, event_id DESC) a
 WHERE a.complaint_id = b.complaint_id AND a.payload ->> 'callback_id' = b.callback_id::text;
