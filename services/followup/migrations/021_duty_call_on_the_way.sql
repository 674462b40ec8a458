-- Issue 24: the duty manager says "on my way" themself (signed in), then "arrived" (the acknowledgement, which stops
-- the clock). The duty page lists the open calls (not arrived), oldest first.
ALTER TABLE duty_calls
    ADD COLUMN on_the_way_at      timestamptz,
    ADD COLUMN on_the_way_by      text,
    ADD COLUMN on_the_way_by_name text;
CREATE INDEX duty_calls_open ON duty_calls (called_at) WHERE acknowledged_at IS NULL;
