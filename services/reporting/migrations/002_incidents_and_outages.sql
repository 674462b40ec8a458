-- One fault, many callers: incidents, outage notices, the callers joined to them, and hotspots per asset.
-- Like everything here, derived from events: `python -m services.reporting.rebuild` reproduces it from offset 0.

-- A case joined to an incident or outage notice, the ETA its customer was last told, the asset it is about.
ALTER TABLE cases
    ADD COLUMN incident_id  uuid,
    ADD COLUMN outage_id    uuid,
    ADD COLUMN eta          timestamptz,
    ADD COLUMN asset_type   text,
    ADD COLUMN asset_id     text;
CREATE INDEX cases_incident ON cases (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX cases_outage ON cases (outage_id) WHERE outage_id IS NOT NULL;

-- Callers resolved when their group's fault was fixed (incident, outage notice, the case they duplicated):
-- in callback coverage and reopen rate, never in timeliness.
ALTER TABLE kpi_rollup ADD COLUMN fixed_with_group integer NOT NULL DEFAULT 0;

-- One row per incident, re-derived from its timeline (its own events, its work order's, its escalations).
CREATE TABLE incidents (
    incident_id        uuid        PRIMARY KEY,
    reference_no       text        NOT NULL,
    family             text        NOT NULL,
    asset_type         text,
    asset_id           text,
    district           text        NOT NULL,
    compound           text,
    department         text        NOT NULL,
    category           text        NOT NULL,
    severity           text        NOT NULL,
    status             text        NOT NULL,
    complaint_count    integer     NOT NULL,
    households         integer     NOT NULL,
    eta                timestamptz,
    description        text        NOT NULL,
    work_order_id      uuid        NOT NULL,
    work_order_status  text,
    opened_by          text,
    opened_at          timestamptz,
    opened_day         date,
    resolve_by         timestamptz,
    resolved_at        timestamptz,
    resolution         text,
    root_cause         text,
    escalations        integer     NOT NULL,
    escalation_level   integer     NOT NULL,
    sla_warnings       integer     NOT NULL,
    last_event_at      timestamptz
);
CREATE INDEX incidents_status ON incidents (status, opened_at DESC);
CREATE INDEX incidents_opened_day ON incidents (opened_day);

CREATE TABLE outages (
    outage_id       uuid        PRIMARY KEY,
    reference_no    text        NOT NULL,
    kind            text        NOT NULL,
    family          text        NOT NULL,
    asset_type      text,
    asset_id        text,
    district        text,
    compound        text,
    starts_at       timestamptz NOT NULL,
    expected_end    timestamptz,
    description     text        NOT NULL,
    description_en  text,
    status          text        NOT NULL,
    complaint_count integer     NOT NULL,
    source          text        NOT NULL,
    declared_at     timestamptz,
    ended_at        timestamptz,
    last_event_at   timestamptz
);
CREATE INDEX outages_status ON outages (status, starts_at DESC);

-- Complaints per hour x asset (station, feeder, main, line, building), for hotspots by asset.
CREATE TABLE hotspot_asset_hourly (
    hour        timestamptz NOT NULL,
    asset_type  text        NOT NULL,
    asset_id    text        NOT NULL,
    n           integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, asset_type, asset_id)
);

-- Upgrading a populated schema in place, so it equals a rebuild: ...
-- ... an incident's work-order and SLA events read before this version made phantom cases (no contribution);
DELETE FROM cases WHERE reference_no LIKE 'INC-%' AND contribution IS NULL;
-- ... cases received with an asset gain it, in their row, their contribution and the asset hotspots.
UPDATE cases c
   SET asset_type = t.payload #>> '{location,asset,type}', asset_id = t.payload #>> '{location,asset,id}'
  FROM timeline t
 WHERE t.complaint_id = c.complaint_id AND t.event_type = 'complaint.received'
   AND jsonb_typeof(t.payload #> '{location,asset}') = 'object';
UPDATE cases
   SET contribution = contribution
       || jsonb_build_object('asset', CASE WHEN asset_type IS NULL THEN NULL ELSE jsonb_build_array(asset_type, asset_id) END)
       || jsonb_build_object('counters', (contribution -> 'counters') || '{"fixed_with_group": 0}'::jsonb)
 WHERE contribution IS NOT NULL;
INSERT INTO hotspot_asset_hourly (hour, asset_type, asset_id, n)
SELECT (contribution ->> 'hour')::timestamptz, asset_type, asset_id, count(*)
  FROM cases WHERE contribution IS NOT NULL AND asset_type IS NOT NULL
 GROUP BY 1, 2, 3;
