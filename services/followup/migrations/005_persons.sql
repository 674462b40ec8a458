-- Issue 20: staff sign in as persons. A callback attempt records the person (staff id in last_agent, display
-- name here) and how the customer was contacted; the duty manager's acknowledgement records the person too.
ALTER TABLE callbacks
    ADD COLUMN last_agent_name text,
    ADD COLUMN last_method     text;

ALTER TABLE duty_calls ADD COLUMN acknowledged_by_name text;
