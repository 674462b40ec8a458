"""The runner's stop grace (`PLATFORM_STOP_GRACE_S`): what `python -m embedded` gives each service on SIGTERM to
finish its in-flight work before killing it. A bad value stops the runner before anything starts, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded.platform import SERVICE_STOP_GRACE_S, PlatformConfig, PlatformError


def _config(tmp_path: Path, **env: str) -> PlatformConfig:
    return PlatformConfig.from_env({"PLATFORM_DATA_DIR": str(tmp_path), **env})


def test_the_grace_is_ten_seconds_unless_set(tmp_path: Path) -> None:
    assert _config(tmp_path).stop_grace == SERVICE_STOP_GRACE_S == 10.0
    assert _config(tmp_path, PLATFORM_STOP_GRACE_S=" 2.5 ").stop_grace == 2.5


@pytest.mark.parametrize(
    ("raw", "named"),
    [("soon", "is not a number of seconds"), ("0", "more than 0"), ("-3", "more than 0"), ("601", "at most 600")],
)
def test_a_bad_grace_is_refused_by_name(tmp_path: Path, raw: str, named: str) -> None:
    with pytest.raises(PlatformError, match=f"PLATFORM_STOP_GRACE_S.*{named}"):
        _config(tmp_path, PLATFORM_STOP_GRACE_S=raw)
