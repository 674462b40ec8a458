"""Headless Chromium (Debian's package, `make chromium`) for page tests: the DOM after scripts ran, and a screenshot.

One invocation does both: with --virtual-time-budget, Chromium lets the page's timers and fetches run until the
budget is spent (virtual time waits while requests are pending), then dumps the DOM to stdout and writes the PNG.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

# Without the background-networking switches Chromium tries to reach its update and sync services, and those
# connections are refused here; as root it only starts with --no-sandbox. Even with them it still asks for the
# network time, component updates and accounts: the resolver rule fails every name but the loopback one inside
# Chromium, so no page and no browser service can reach another host, and a test stays hermetic.
# The Playwright browser (tests.support.browser) starts with the same switches.
HERMETIC_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
_FLAGS = ("--headless", "--hide-scrollbars", *HERMETIC_FLAGS)


class ChromiumError(RuntimeError):
    """Chromium exited non-zero, timed out, or left no DOM or no screenshot; carries its stderr."""


def available() -> bool:
    """Whether `make chromium` has run here (`make test` runs it first; without it, render() says so)."""
    return CHROMIUM.exists()


def render(
    url: str,
    *,
    screenshot: Path | None,
    window: str = "1440,1800",
    budget_ms: int = 15000,
    net_log: Path | None = None,
) -> str:
    """Load `url`, let its scripts run for `budget_ms` of virtual time and return the serialised DOM.

    `screenshot` (a PNG of the `window` viewport) is taken in the same run; `net_log` records every request
    Chromium made, so a test can prove the page went to no other host.
    """
    if not available():
        raise ChromiumError(f"{CHROMIUM} is missing: run `make chromium` (as root)")
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    args = [
        str(CHROMIUM),
        *_FLAGS,
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
        f"--window-size={window}",
        "--dump-dom",
    ]
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.unlink(missing_ok=True)
        args.append(f"--screenshot={screenshot}")
    if net_log is not None:
        net_log.parent.mkdir(parents=True, exist_ok=True)
        args.append(f"--log-net-log={net_log}")
    args.append(url)
    try:
        # Virtual time runs faster than the wall clock, but start-up and real I/O do not: leave generous headroom.
        done = subprocess.run(args, capture_output=True, text=True, timeout=budget_ms / 1000 + 60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ChromiumError(f"chromium timed out on {url}; stderr:\n{_text(exc.stderr)}") from exc
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        raise ChromiumError(f"chromium exited {done.returncode} on {url}; stderr:\n{done.stderr}")
    if screenshot is not None and not screenshot.exists():
        raise ChromiumError(f"chromium wrote no screenshot to {screenshot}; stderr:\n{done.stderr}")
    if "<html" not in done.stdout:
        raise ChromiumError(f"chromium dumped no DOM for {url}; stderr:\n{done.stderr}")
    return done.stdout


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
