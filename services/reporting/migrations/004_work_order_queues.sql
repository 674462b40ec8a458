-- Department queues and the overdue list read one row per work order (`work_orders`), not the case's lead only,
-- so a coordinated case's assisting part is in its own department's queue, also after its lead is resolved.
-- Like `cases_open_queue` (001) for the case rows: only open work orders, by department and deadline.
-- (Cases projected before 003 have no work-order rows: `rebuild` fills them, as 003 says.)
CREATE INDEX work_orders_open_queue ON work_orders (department, resolve_by)
    WHERE status IN ('assigned', 'acknowledged', 'in_progress');
