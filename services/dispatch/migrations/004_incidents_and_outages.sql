-- One fault, many callers: the asset registry, incidents (one work order for one fault) and outage notices.

-- An incident's work order belongs to the incident, not to a complaint: its complaint_id is the incident id.
ALTER TABLE work_orders DROP CONSTRAINT work_orders_complaint_id_fkey;
ALTER TABLE work_orders ADD COLUMN incident_id uuid;

-- Which fault a case is about, and the incident or outage it joined.
ALTER TABLE cases
    ADD COLUMN family      text,
    ADD COLUMN scope       text,
    ADD COLUMN asset       jsonb,
    ADD COLUMN incident_id uuid,
    ADD COLUMN outage_id   uuid,
    ADD COLUMN fixed_at    timestamptz;
-- Counting the households of one fault within the window.
CREATE INDEX cases_fault ON cases (scope, family, accepted_at) WHERE scope IS NOT NULL;
CREATE INDEX cases_incident ON cases (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX cases_outage ON cases (outage_id) WHERE outage_id IS NOT NULL;
-- Same-account duplicates of a case, told when it is resolved.
CREATE INDEX cases_linked_to ON cases (linked_to) WHERE linked_to IS NOT NULL;

-- The asset registry: which station, feeder, main or line serves which compounds and buildings.
CREATE TABLE assets (
    asset_id   text        PRIMARY KEY,
    type       text        NOT NULL,
    name_zh    text        NOT NULL,
    name_en    text        NOT NULL,
    district   text        NOT NULL,
    serves     jsonb       NOT NULL,
    loaded_at  timestamptz NOT NULL
);
-- Bumped by every import, so each dispatch replica reloads its in-memory index when it changes.
CREATE TABLE asset_registry_version (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version   bigint  NOT NULL
);
INSERT INTO asset_registry_version VALUES (true, 0);

CREATE TABLE incidents (
    incident_id      uuid        PRIMARY KEY,
    reference_no     text        NOT NULL UNIQUE,
    family           text        NOT NULL,
    scope            text        NOT NULL,
    asset            jsonb,
    district         text        NOT NULL,
    compound         text,
    department       text        NOT NULL,
    category         text        NOT NULL,
    severity         text        NOT NULL,
    status           text        NOT NULL,
    work_order_id    uuid        NOT NULL,
    complaint_count  integer     NOT NULL,
    households       integer     NOT NULL,
    eta              timestamptz,
    description      text        NOT NULL,
    description_en   text        NOT NULL,
    opened_by        text        NOT NULL,
    actor            text        NOT NULL,
    channel          text        NOT NULL,
    correlation_id   text        NOT NULL,
    opened_at        timestamptz NOT NULL,
    resolved_at      timestamptz
);
-- Two dispatch replicas can never open two incidents for one fault at once.
CREATE UNIQUE INDEX incidents_one_open ON incidents (scope, family) WHERE status = 'open';

CREATE TABLE outages (
    outage_id        uuid        PRIMARY KEY,
    reference_no     text        NOT NULL UNIQUE,
    kind             text        NOT NULL,
    family           text        NOT NULL,
    asset            jsonb,
    district         text,
    compound         text,
    starts_at        timestamptz NOT NULL,
    expected_end     timestamptz,
    description      text        NOT NULL,
    description_en   text,
    status           text        NOT NULL,
    complaint_count  integer     NOT NULL DEFAULT 0,
    source           text        NOT NULL,
    -- The outage system's own id for it, so its later updates find it.
    source_ref       text        UNIQUE,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    ended_at         timestamptz
);
CREATE INDEX outages_active ON outages (family, starts_at) WHERE status = 'active';
