"""What the Kafka and Keycloak distributions share in being fetched from Maven Central and run with a local Java.

Stdlib only, like `embedded._process`. Each caller keeps its own errors and install hints; only the commands are here.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def java_major(java: Path) -> int | None:
    """The major version a `java` reports on `-version` (None when it names none)."""
    probe = subprocess.run(  # noqa: S603 - a local java, asked for its version
        [str(java), "-version"], capture_output=True, text=True, check=False
    )
    match = re.search(r'version "(\d+)', probe.stderr + probe.stdout)
    return int(match.group(1)) if match else None


def copy_dependencies(mvn: str, pom: Path, into: Path, *options: str, quiet: bool) -> subprocess.CompletedProcess[str]:
    """`mvn dependency:copy-dependencies` of `pom` into the folder `into`, `options` choosing which artifacts; `quiet`
    keeps Maven's output for the caller's error message instead of the terminal."""
    command = [
        mvn,
        "-B",
        *(["-q"] if quiet else []),
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        *options,
        f"-DoutputDirectory={into}",
    ]
    return subprocess.run(command, capture_output=quiet, text=True, check=False)  # noqa: S603
