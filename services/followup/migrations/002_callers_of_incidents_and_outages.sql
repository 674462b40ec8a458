-- Callers of an incident, an outage notice or a case they duplicate: told what happens, called back on their own.

-- Every caller of one incident shares the incident's work order: one callback per caller and work order.
ALTER TABLE callbacks DROP CONSTRAINT callbacks_work_order_id_key;
ALTER TABLE callbacks ADD CONSTRAINT callbacks_one_per_caller UNIQUE (complaint_id, work_order_id);
-- A caller's own severity and correlation id (the shared work order carries the incident's).
ALTER TABLE callbacks ADD COLUMN severity text, ADD COLUMN correlation_id text;

-- Work orders of incidents: resolving one calls back its callers, not the incident.
CREATE TABLE incident_work_orders (
    work_order_id  uuid PRIMARY KEY,
    incident_id    uuid NOT NULL
);

-- What each linked caller was told: the group they belong to, its cause and the ETA.
CREATE TABLE callers (
    complaint_id    uuid        PRIMARY KEY,
    reference_no    text        NOT NULL,
    group_kind      text        NOT NULL,   -- incident | outage | duplicate
    group_id        uuid        NOT NULL,
    cause           text,
    cause_en        text,
    eta             timestamptz,
    correlation_id  text        NOT NULL,
    joined_at       timestamptz NOT NULL,
    fixed_at        timestamptz
);
