-- Issue 26: processed-event marks are pruned past their horizon (shared/pruning.py), a bounded batch at a time; the
-- batch is found through this index instead of a scan of the whole table. On a table already large, create it
-- beforehand without blocking the consumers, in each service schema:
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS processed_events_processed_at ON <schema>.processed_events (processed_at);
-- and this migration finds it there.
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
