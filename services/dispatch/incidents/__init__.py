"""One fault, many callers: which fault a complaint is about (`faults.py`), when complaints become an incident and
how grave it is (`policy.py`, `incidents.toml`). Pure, like classification: the handlers apply the decisions."""
