"""Local stand-ins for the peers that cannot run here: the SMS vendors' APIs (Aliyun, Tencent Cloud), WeChat's
official-account API, and a mail server. Each speaks the peer's documented protocol — its request signatures, its
errors, its status callbacks — so notify's adapters, configured with a base URL, cannot tell. They are for `make run`
and the tests only; production configuration names the real endpoints.

Every HTTP stand-in is `python -m embedded.standins.<name> --port 0 --ready-file F [--data-dir D]`; it writes
`{"name", "url", "pid"}` to F once it listens, keeps what it received in memory and in `D/<name>.jsonl`, and has a
control surface under `/_standin/` (what it received, faults to inject) that the real peer does not have.
"""
