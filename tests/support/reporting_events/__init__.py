"""Contract events as the services publish them, for reporting's tests at every tier (unit: the derivation on
the in-memory door; service: real Postgres and Kafka; e2e: the dashboard page). Built from shared/contracts, never
from the producers' code; tests compute their expectations from the scripted facts, never from the events:

- `cases`: one case handled in time (`case_events`, `T0`);
- `messages`: notify's delivery reports (`delivery`);
- `handling`: a scripted period under the handling rules (`Scripted`, `events`, `period_script`);
- `incidents`: a fault with its callers, and an outage notice (`storm`, `Storm`);
- `persons`: a household's cases worked by signed-in persons (`Household`, `household_events`).
"""
