-- A case's work orders (the open one, the latest, the account's open ones) are looked up by complaint id on
-- every routed complaint. Without this index each lookup scanned every work order: the cost of routing grew
-- with the number of work orders ever created (a load test found 4,000 rows read per complaint at 3,000 orders).
CREATE INDEX work_orders_by_complaint ON work_orders (complaint_id, created_at);
