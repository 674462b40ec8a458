-- Issue 24: on-site (repair) timeliness, seed 002's 维修及时率 — per received cohort, the cases whose crew arrived on
-- site for a work order held to an on-site limit, and those that arrived by it. Fills from new events; run `rebuild`
-- after upgrading for the cases before.
ALTER TABLE kpi_rollup
    ADD COLUMN on_site          integer NOT NULL DEFAULT 0,
    ADD COLUMN on_site_in_time  integer NOT NULL DEFAULT 0;
