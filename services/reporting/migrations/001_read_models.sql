-- Reporting's read models. Everything here is derived from events and can be rebuilt from offset 0.

-- Every event of every case, as received: the timeline, and the source of truth for the case rows.
CREATE TABLE timeline (
    event_id      uuid        PRIMARY KEY,
    complaint_id  uuid        NOT NULL,
    event_type    text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    topic         text        NOT NULL,
    payload       jsonb       NOT NULL
);
CREATE INDEX timeline_case ON timeline (complaint_id, occurred_at, event_id);

CREATE TABLE cases (
    complaint_id       uuid        PRIMARY KEY,
    reference_no       text,
    account_no         text,
    channel            text,
    district           text,
    address            text,
    text               text,
    name_masked        text,
    phone_masked       text,
    accepted_at        timestamptz,
    category           text,
    department         text,
    severity           text,
    priority           smallint,
    status             text        NOT NULL,
    cycle              integer     NOT NULL,
    work_order_id      uuid,
    work_order_status  text,
    acknowledge_by     timestamptz,
    resolve_by         timestamptz,
    linked_to          uuid,
    reopen_count       integer     NOT NULL,
    escalation_level   integer     NOT NULL,
    first_resolved_at  timestamptz,
    closed_at          timestamptz,
    close_outcome      text,
    last_event_at      timestamptz,
    contribution       jsonb
);
CREATE UNIQUE INDEX cases_reference ON cases (reference_no) WHERE reference_no IS NOT NULL;
CREATE INDEX cases_household ON cases (account_no, accepted_at DESC) WHERE account_no IS NOT NULL;
CREATE INDEX cases_accepted ON cases (accepted_at);
CREATE INDEX cases_open_queue ON cases (department, resolve_by)
    WHERE work_order_status IN ('assigned', 'acknowledged', 'in_progress');

-- Restricted: real contact data, shown only to roles allowed to see it.
CREATE TABLE contacts (
    complaint_id uuid PRIMARY KEY,
    name         text,
    phone        text
);

-- KPIs maintained incrementally, rolled up per received day along each dimension a dashboard groups by
-- (department, category, channel, district, and "all" for totals and daily trends): a query over a year
-- sums a few thousand rows, whatever the number of cases.
CREATE TABLE kpi_rollup (
    dimension             text    NOT NULL,
    day                   date    NOT NULL,
    key                   text    NOT NULL,
    received              integer NOT NULL DEFAULT 0,
    routed                integer NOT NULL DEFAULT 0,
    acknowledged          integer NOT NULL DEFAULT 0,
    acknowledged_in_time  integer NOT NULL DEFAULT 0,
    resolved              integer NOT NULL DEFAULT 0,
    resolved_in_time      integer NOT NULL DEFAULT 0,
    callbacks_done        integer NOT NULL DEFAULT 0,
    satisfied             integer NOT NULL DEFAULT 0,
    dissatisfied          integer NOT NULL DEFAULT 0,
    reopened              integer NOT NULL DEFAULT 0,
    closed                integer NOT NULL DEFAULT 0,
    handling_ms           bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, day, key)
);

-- Handling-time histogram per rollup row, for medians and percentiles without scanning cases.
CREATE TABLE kpi_rollup_handling (
    dimension  text     NOT NULL,
    day        date     NOT NULL,
    key        text     NOT NULL,
    bucket     smallint NOT NULL,
    n          integer  NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, day, key, bucket)
);

-- Complaints per hour x district x category, for hotspots against their trailing baseline.
CREATE TABLE hotspot_hourly (
    hour      timestamptz NOT NULL,
    district  text        NOT NULL,
    category  text        NOT NULL,
    n         integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, district, category)
);
