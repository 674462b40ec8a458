"""What every tier of the tests shares, one module a concern (no tier imports another tier's conftest or tests):

- `platform`: `python -m embedded` as a real process tree (the one starter of the e2e and fault tiers);
- `client`: the platform's public HTTP API as its people call it (`PlatformClient`: submit, acknowledge, resolve,
  callback, timeline ...); `standins`: the vendors' stand-ins beside it;
- `complaints`: sample complaint bodies and channel headers; `complaint_streams`: streams of them and the poster;
- `ports`: `free_port()`; `kafka`: reading and producing topics; `metrics`: parsed /metrics; `clock`: a fake clock;
- `infrastructure`, `identity`, `tokens`, `provider_sign_in`: Postgres and Kafka, Keycloak and persons' tokens;
- `apps`, `console`, `console_platform`, `browser`, `chromium`: services in-process, the console, browsers;
- `<service>.py` (dispatch, followup, reporting, notify, intake): each service run in-process for service tests.
"""
