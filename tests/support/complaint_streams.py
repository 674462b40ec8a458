"""Streams of sample complaints, and the poster that submits them concurrently, each retried under its own
Idempotency-Key until accepted: the load the fault scenarios (and a durability check) put through the platform.
What the platform accepted is kept by the fault suite's ledger (tests/faults/support/ledger.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.complaints import complaint, headers

#: Texts that classify as normal severity in each department: with the default SLA policy their first
#: timer (a warning at 80 % of the acknowledge limit) is more than an hour away, so none fires in a run.
TEXTS = (
    "家里暖气片一直不热，室温只有16度左右，希望派人来测一下温度。",
    "这个月的水费账单比平时高了三倍，用水量没有变化，怀疑抄表有误，要求核实退费。",
    "昨天上门的维修师傅态度很差，说话不耐烦，还没修好就走了。",
    "请问新房开通供暖需要办理什么手续，去哪里办？",
)
CHANNELS = ("web", "app", "wechat", "counter", "email", "phone")
DISTRICTS = ("heping", "shenhe", "tiexi", "huanggu", "dadong")


# --- posting complaints ------------------------------------------------------------------------------------


@dataclass
class Submission:
    """One complaint to submit; retried with the same body and Idempotency-Key until answered 202."""

    scenario: str
    index: int
    channel: str
    body: dict[str, Any]
    idempotency_key: str
    complaint_id: str | None = None
    reference_no: str | None = None
    attempts: int = 0
    replayed: bool = False


def make_submissions(scenario: str, n: int) -> list[Submission]:
    """n complaints over every web-ish channel and phone, four texts (all three departments), five
    districts; each from its own account, so none is a duplicate or repeat of another."""
    tag = uuid.uuid4().hex[:6]
    subs = []
    for i in range(n):
        channel = CHANNELS[i % len(CHANNELS)]
        district = DISTRICTS[(i // len(CHANNELS)) % len(DISTRICTS)]
        body = complaint(
            channel,
            channel_ticket_id=f"{scenario}-{tag}-{i:05d}",
            text=TEXTS[i % len(TEXTS)],
            category_hint=None,
            customer={
                "account_no": f"FLT-{tag}-{i:05d}",
                "name": "王小明",
                "phone": f"139{(i * 7919 + int(tag, 16)) % 10**8:08d}",
                "preferred_contact": "phone",
            },
            location={"address": f"{district}区测试路{i % 200 + 1}号", "district": district},
        )
        subs.append(Submission(scenario, i, channel, body, f"{scenario}-{tag}-{i:05d}"))
    return subs


#: One station failing: households of one compound calling about no heat, in their own words.
STORM_TEXTS = (
    "暖气片冰凉，室温只有14度，整栋楼都不热。",
    "从早上开始停暖了，家里有老人。",
    "Radiators cold since this morning, 15 degrees inside.",
    "暖气温乎乎的，屋里才16度。",
)


def make_storm_submissions(scenario: str, n: int) -> tuple[list[Submission], str]:
    """n households of one compound (its own name per run) calling about the heat, each from its own account and
    phone, over every channel; and the compound's name."""
    tag = uuid.uuid4().hex[:6]
    compound = f"风暴{int(tag, 16) % 10**6:06d}小区"
    subs = []
    for i in range(n):
        channel = CHANNELS[i % len(CHANNELS)]
        body = complaint(
            channel,
            channel_ticket_id=f"{scenario}-{tag}-{i:05d}",
            text=STORM_TEXTS[i % len(STORM_TEXTS)],
            category_hint=None,
            customer={
                "account_no": f"STM-{tag}-{i:05d}",
                "name": "李四",
                "phone": f"138{(i * 7919 + int(tag, 16)) % 10**8:08d}",
                "preferred_contact": "phone",
            },
            location={"address": f"和平区{compound}{i % 20 + 1}号楼{i % 6 + 1}单元", "district": "heping"},
        )
        subs.append(Submission(scenario, i, channel, body, f"{scenario}-{tag}-{i:05d}"))
    return subs, compound


class Poster:
    """Posts submissions with `concurrency` in flight (optionally at most `rate` per second). Anything but
    a 202 that is not the platform's fault (4xx) fails the run; 5xx and transport errors are retried with
    the same Idempotency-Key, so each submission ends as exactly one accepted complaint."""

    def __init__(
        self,
        intake_url: str,
        submissions: list[Submission],
        *,
        concurrency: int = 16,
        rate: float | None = None,
        give_up_after: float = 150.0,
    ) -> None:
        self.url = intake_url
        self.submissions = submissions
        self.concurrency = concurrency
        self.rate = rate
        self.give_up_after = give_up_after
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        #: (monotonic time, status code or error name) of every attempt's outcome.
        self.outcomes: list[tuple[float, int | str]] = []
        self.accepted = 0
        #: submissions beyond this index are not posted (see `stop_after`)
        self.limit = len(submissions)
        #: submissions taken up for posting so far
        self.taken = 0
        self.started_at = 0.0
        self.finished_at = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Poster:
        self._task = asyncio.create_task(self.run(), name="poster")
        return self

    async def wait(self) -> None:
        assert self._task is not None
        await self._task

    async def wait_accepted(self, n: int, timeout: float = 120.0) -> None:
        """Until n submissions were accepted (the fault is injected mid-stream, not before or after)."""
        deadline = time.monotonic() + timeout
        while self.accepted < n:
            if self._task is not None and self._task.done():
                await self._task  # raises what stopped it
                raise AssertionError(f"posting finished with only {self.accepted} accepted, waited for {n}")
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.accepted} of {n} accepted in {timeout}s; {self.summary()}")
            await asyncio.sleep(0.02)

    def stop_after(self, more: int) -> None:
        """Post `more` submissions beyond those already taken up, then stop (the rest is never sent)."""
        self.limit = min(self.limit, self.taken + more)

    async def cancel(self) -> None:
        """Stop posting now (a failed scenario); requests in flight are abandoned."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await self._task

    def summary(self) -> str:
        return f"statuses={dict(self.statuses)} errors={dict(self.errors)} accepted={self.accepted}"

    def outcomes_between(self, start: float, end: float) -> Counter[int | str]:
        return Counter(o for t, o in self.outcomes if start <= t <= end)

    async def run(self) -> None:
        self.started_at = time.monotonic()
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        queue: asyncio.Queue[Submission] = asyncio.Queue()
        for sub in self.submissions:
            queue.put_nowait(sub)
        async with httpx.AsyncClient(base_url=self.url, timeout=10, limits=limits) as client:

            async def worker() -> None:
                while not queue.empty():
                    sub = queue.get_nowait()
                    if sub.index >= self.limit:
                        continue
                    self.taken += 1
                    if self.rate:
                        due = self.started_at + sub.index / self.rate
                        await asyncio.sleep(max(0.0, due - time.monotonic()))
                    await self._submit(client, sub)

            async with asyncio.TaskGroup() as group:
                for _ in range(self.concurrency):
                    group.create_task(worker())
        self.finished_at = time.monotonic()

    async def _submit(self, client: httpx.AsyncClient, sub: Submission) -> None:
        deadline = time.monotonic() + self.give_up_after
        backoff = 0.1
        request_headers = headers(sub.channel, **{"Idempotency-Key": sub.idempotency_key})
        while True:
            sub.attempts += 1
            try:
                response = await client.post("/v1/complaints", json=sub.body, headers=request_headers)
            except httpx.TransportError as exc:
                self.errors[type(exc).__name__] += 1
                self.outcomes.append((time.monotonic(), type(exc).__name__))
            else:
                self.statuses[response.status_code] += 1
                self.outcomes.append((time.monotonic(), response.status_code))
                if response.status_code == 202:
                    body = response.json()
                    sub.complaint_id, sub.reference_no = body["complaint_id"], body["reference_no"]
                    sub.replayed = response.headers.get("Idempotent-Replayed") == "true"
                    self.accepted += 1
                    return
                if response.status_code < 500:
                    raise AssertionError(f"submission {sub.idempotency_key}: {response.status_code} {response.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"submission {sub.idempotency_key} not accepted in time; {self.summary()}")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
