-- When a work order's SLA clocks started, so followup can warn at a share of each limit.
ALTER TABLE work_orders ADD COLUMN starts_at timestamptz;
UPDATE work_orders SET starts_at = created_at WHERE starts_at IS NULL;
ALTER TABLE work_orders ALTER COLUMN starts_at SET NOT NULL;
