"""What every tier of the tests shares, one module a concern (no tier imports another tier's conftest or tests:
tests/unit/test_test_tiers.py checks it):

- `platform`: `python -m embedded` as a real process tree (the one starter of the e2e and fault tiers);
- `client`: the platform's public HTTP API as its people call it (`PlatformClient`: submit, acknowledge, resolve,
  callback, timeline ...; `PlatformClient.in_process` over services run in-process); `person_client`: one signed-in
  person's calls with their own token (`PersonClient`, synchronous, for the browser tests); `standins`: the vendors'
  stand-ins beside it;
- `read_models`: the looks into databases no API gives (the platform settled, reporting's read models live and
  rebuilt);
- `complaints`: sample complaint bodies and channel headers; `complaint_streams`: streams of them and the poster;
- `followup_events`, `reporting_events`: the events those services consume, built from the contracts, for their
  unit, service and e2e tests alike;
- `ports`: `free_port()`, `bound_socket()`; `kafka`: reading and producing topics; `metrics`: parsed /metrics;
  `clock`: a fake clock;
- `infrastructure`, `identity`, `tokens`, `provider_sign_in`: Postgres and Kafka, Keycloak and persons' tokens;
- `apps`, `console`, `console_platform`, `browser`, `chromium`: services in-process, the console (and its
  directory import), browsers;
- `<service>.py` (dispatch, followup, reporting, notify, intake): each service run in-process for service tests.
"""
