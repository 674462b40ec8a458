"""Fault-injection support, one module a concern: `ledger` (what the platform accepted), `kafka` (reading topics,
offsets and lags), `checks` and `incident_checks` (quiet, then exact: the looks into the services' databases and
topics, each behind a named function), `probes` (what a scenario reads mid-fault). The platform itself, the
complaint streams and the domain client are shared with the e2e tier: tests/support/."""
