"""Fault-injection support, one module a concern: `platform` (the process tree), `posting` (complaints and
the ledger of what was accepted), `kafka` (reading topics and offsets), `checks` (quiet, then exact)."""
