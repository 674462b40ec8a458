"""Where each service's CPU goes, read from the py-spy flame graphs `bench.load --profile DIR` wrote.

    .venv/bin/python -m bench.flames DIR

For every `<mode>-<service>.svg`: the share of samples spent *in* (self time, the leaf frame) each part of the
code, grouped by library or by our module, and the share *under* (inclusive) a few frames worth knowing
(the consumers' batch handling, the outbox relay, the HTTP app, start-up imports). A flame graph's rectangles
carry their sample offset and count (`fg:x`, `fg:w`) and depth (`y`): a frame's self time is its count minus
its children's.
"""

from __future__ import annotations

import html
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

FRAME = re.compile(
    r'<title>(.*?) \((\d[\d,]*) samples, [\d.]+%\)</title><rect[^>]*?y="(\d+)"[^>]*fg:x="(\d+)" fg:w="(\d+)"'
)
GROUPS = (
    ("asyncpg", "asyncpg (Postgres driver)"),
    ("aiokafka", "aiokafka (Kafka client)"),
    ("kafka/", "aiokafka (Kafka client)"),
    ("pydantic", "pydantic (validation, JSON)"),
    ("structlog", "logging (structlog, stdlib)"),
    ("logging/", "logging (structlog, stdlib)"),
    ("faststream", "faststream, fast_depends"),
    ("fast_depends", "faststream, fast_depends"),
    ("prometheus", "prometheus_client"),
    ("opentelemetry", "opentelemetry"),
    ("json/", "json (stdlib)"),
    ("starlette", "HTTP (uvicorn, starlette, fastapi, h11)"),
    ("fastapi", "HTTP (uvicorn, starlette, fastapi, h11)"),
    ("uvicorn", "HTTP (uvicorn, starlette, fastapi, h11)"),
    ("h11", "HTTP (uvicorn, starlette, fastapi, h11)"),
    ("importlib", "imports (start-up)"),
    ("<frozen", "imports (start-up)"),
    ("asyncio/", "asyncio event loop"),
    ("selectors", "asyncio event loop"),
    ("ssl", "asyncio event loop"),
)
#: A sample whose innermost Python frame is the event loop's `run` or `select` is the loop waiting in epoll (or in C
#: code py-spy does not see without --native): not Python work. Shares below are of the other samples.
IDLE = "event loop waiting (epoll) or in C"
IDLE_FRAMES = ("run (asyncio/runners.py", "select (selectors.py", "_run_once (asyncio/base_events.py")
UNDER = {
    "consumers (shared/kafka/consumer.py __call__)": "__call__ (shared/kafka/consumer.py",
    "the door's batch / each (shared/handling.py)": "(shared/handling.py",
    "outbox relay (shared/outbox.py)": "(shared/outbox.py",
    "HTTP requests (starlette app)": "__call__ (starlette/applications.py",
    "start-up imports (<module>)": "_find_and_load (<frozen importlib._bootstrap>",
}


def group_of(frame: str) -> str:
    where = frame[frame.rfind("(") + 1 :]
    for needle, name in GROUPS:
        if needle in where:
            return name
    match = re.match(r"(services/\w+/[\w/]+|shared/[\w/]+)\.py", where)
    if match:
        return match.group(1).replace("/", ".")
    return "other: " + where.split(":")[0]


def analyse(svg: Path) -> tuple[int, Counter[str], dict[str, int]]:
    """Total samples, self samples per group, inclusive samples under each UNDER frame (outermost only)."""
    frames = [
        (html.unescape(m.group(1)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
        for m in FRAME.finditer(svg.read_text(encoding="utf-8"))
    ]
    if not frames:
        return 0, Counter(), {}
    by_depth: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for _, y, x, w in frames:
        by_depth[y].append((x, w))
    root_y = max(frames, key=lambda f: f[3])[1]
    step = 16 if any(y == root_y + 16 for _, y, _, _ in frames) else -16
    total = max(f[3] for f in frames)
    spent: Counter[str] = Counter()
    for name, y, x, w in frames:
        children = sum(cw for cx, cw in by_depth.get(y + step, []) if x <= cx < x + w)
        if w > children and name != "all":
            spent[IDLE if name.startswith(IDLE_FRAMES) else group_of(name)] += w - children
    under: dict[str, int] = {}
    for label, needle in UNDER.items():
        spans = sorted((x, x + w) for name, _, x, w in frames if needle in name)
        covered, end = 0, -1
        for start, stop in spans:  # union of the spans: a recursive frame counts once
            if stop > end:
                covered += stop - max(start, end)
                end = stop
        under[label] = covered
    return total, spent, under


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for svg in sorted(folder.glob("*.svg")):
        total, spent, under = analyse(svg)
        if not total:
            continue
        busy = total - spent.pop(IDLE, 0)
        print(f"\n### {svg.stem}: {total:,} samples, {busy:,} in Python code ({busy / total:.0%})")
        print("\n| self time in (share of the Python samples) | share |\n|---|---|")
        for name, samples in spent.most_common(12):
            print(f"| {name} | {samples / busy:.1%} |")
        print("\n| under | share |\n|---|---|")
        for label, samples in under.items():
            print(f"| {label} | {samples / busy:.1%} |")


if __name__ == "__main__":
    main()
