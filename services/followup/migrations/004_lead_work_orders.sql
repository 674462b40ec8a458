-- A coordinated case's assisting work order names its lead: when the assisting one resolves the case, the
-- callback follows the lead (its limit, ladder and owner), since dispatch reopens and tells callers through it.
ALTER TABLE work_orders ADD COLUMN lead_work_order_id uuid;
