"""Reporting: read models (case timelines, household archives, queues, KPIs, hotspots) and a dashboard."""
