-- Every step names the person who took it: `actor` keeps the staff id (or a credential's name), `actor_name` the
-- display name people read (issue 20). Older rows have none: readers show `actor`.
ALTER TABLE work_order_history ADD COLUMN actor_name text;

-- Field work on a work order: the crew sent (crews.csv), the visit window agreed with the customer, and the
-- customer's acceptance taken on site at resolution ({customer_name, confirmed, note}).
ALTER TABLE work_orders
    ADD COLUMN crew               text,
    ADD COLUMN appointment_start  timestamptz,
    ADD COLUMN appointment_end    timestamptz CHECK (appointment_end > appointment_start),
    ADD COLUMN appointment_note   text,
    ADD COLUMN acceptance         jsonb;
