"""Keycloak, the reference OpenID Connect provider, fetched from Maven Central and run with a local Java 21+.

`embedded/keycloak/pom.xml` pins the version; `mvn dependency:copy-dependencies` fetches the server
distribution (`keycloak-quarkus-dist`, a zip) and it is unpacked into `.cache/keycloak-<version>/` (git-ignored).
Then, once, `kc.sh build` fixes the build-time options (`BUILD_OPTIONS`), so that every start can be
`start --optimized`: without it each start re-runs Quarkus' build step (about 10 s on 2 cores). On Java 25+ a
training start also records an ahead-of-time class cache (JEP 483/514), which takes another few seconds off each
start (measured: 10 s instead of 13.5). `python -m embedded.keycloak_dist` does all that (`make keycloak`; `make run`
and `make test` call it) and prints the folder. `make test` passes `--no-aot-cache`: the suite starts Keycloak once,
and the training start (about 30 s of both cores) would cost it more than the cache saves. Starting a server never
trains: it maps the cache if one was recorded.

Keycloak needs Java 21+, while the machines' default `java` is 17 (enough for Kafka): the Java is looked up in
`KEYCLOAK_JAVA_HOME`, `JAVA_HOME`, `java` on PATH and `/usr/lib/jvm/*`, the newest 21+ one winning.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from embedded._maven import copy_dependencies, java_major
from embedded._process import find_free_port, log_tail, terminate_process

REPO_ROOT = Path(__file__).resolve().parent.parent
POM = Path(__file__).resolve().parent / "keycloak" / "pom.xml"
CACHE = REPO_ROOT / ".cache"
MIN_JAVA = 21
#: The Java that records the ahead-of-time cache in one training run (-XX:AOTCacheOutput, JDK 25).
MIN_JAVA_AOT = 25
INSTALL_HINT = (
    "Keycloak needs Java {min}+ (the default Java 17 runs only Kafka). Install a JDK 21 or newer beside it: "
    "on Debian 13 `sudo apt-get install openjdk-21-jre-headless`, on Debian 12 an Eclipse Temurin 21 or 25 "
    "package (e.g. `temurin-25-jdk`); anything under /usr/lib/jvm is found, or set KEYCLOAK_JAVA_HOME to its folder"
)
#: Build-time options, fixed by `kc.sh build`: the embedded H2 file database (one node, data in the instance's
#: folder) and no health or metrics endpoints (nothing scrapes them here). Changing them rebuilds once.
BUILD_OPTIONS: tuple[str, ...] = ("--db=dev-file", "--health-enabled=false", "--metrics-enabled=false")
#: The JVM options kc.sh would use, with a modest heap. Keycloak 26 runs on Java 25 but its thread pool resets
#: thread locals through java.lang internals, which Java 24+ only allows when opened.
JVM_OPTIONS: tuple[str, ...] = (
    "-XX:MetaspaceSize=96M",
    "-XX:MaxMetaspaceSize=256m",
    "-Dfile.encoding=UTF-8",
    "-Dsun.stdout.encoding=UTF-8",
    "-Dsun.err.encoding=UTF-8",
    "-Dstdout.encoding=UTF-8",
    "-Dstderr.encoding=UTF-8",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.security.egd=file:/dev/urandom",
    "-XX:+UseG1GC",
    "-Xms64m",
    "-Xmx512m",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
)
JVM_OPENS_24 = "--add-opens=java.base/java.lang=ALL-UNNAMED"
_COMPLETE = ".complete"
_BUILT = ".built"
_AOT = "keycloak.aot"
_AOT_TRIED = ".aot-tried"


class KeycloakDistError(RuntimeError):
    """Java 21+ or Maven is missing, or the Keycloak server could not be fetched or built."""


def keycloak_version(pom: Path = POM) -> str:
    """The pinned Keycloak version, read from the pom (the one place it is written)."""
    match = re.search(r"<keycloak\.version>([^<]+)</keycloak\.version>", pom.read_text(encoding="utf-8"))
    if not match:
        raise KeycloakDistError(f"{pom} does not set <keycloak.version>")
    return match.group(1).strip()


def dist_dir(version: str | None = None) -> Path:
    """Where the unpacked server lives once fetched (`bin/kc.sh`, `lib/`, ...)."""
    return CACHE / f"keycloak-{version or keycloak_version()}"


def aot_cache(dist: Path) -> Path | None:
    """The recorded ahead-of-time cache of this distribution, if one was made."""
    path = dist / _AOT
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def java_for_keycloak() -> tuple[Path, int]:
    """The newest Java 21+ found (its `java` and major version); a clear error naming what to install."""
    candidates: list[Path] = []
    for var in ("KEYCLOAK_JAVA_HOME", "JAVA_HOME"):
        home = os.environ.get(var)
        if home:
            candidates.append(Path(home) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/jvm/*/bin/java"))]
    explicit = os.environ.get("KEYCLOAK_JAVA_HOME")
    found: list[tuple[int, Path]] = []
    for candidate in dict.fromkeys(candidates):
        if not candidate.is_file():
            continue
        major = java_major(candidate)
        if major is not None and major >= MIN_JAVA:
            if explicit and candidate == Path(explicit) / "bin" / "java":
                return candidate, major  # chosen on purpose: not second-guessed
            found.append((major, candidate))
    if not found:
        raise KeycloakDistError(INSTALL_HINT.format(min=MIN_JAVA))
    major, java = max(found, key=lambda item: item[0])
    return java, major


def jvm_options(java_major: int, *, aot: Path | None = None, record_aot: Path | None = None) -> str:
    """JAVA_OPTS for kc.sh: ours replace its defaults (kc.sh then adds its --add-opens, locale and classpath)."""
    options = list(JVM_OPTIONS)
    if java_major >= 24:
        options.append(JVM_OPENS_24)
    if record_aot is not None:
        options.append(f"-XX:AOTCacheOutput={record_aot}")
    elif aot is not None and java_major >= MIN_JAVA_AOT:
        options.append(f"-XX:AOTCache={aot}")
    return " ".join(options)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One preparer at a time (a `make run` and a test session may start together on a fresh clone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_keycloak(quiet: bool = True, *, aot: bool = True) -> Path:
    """Return the unpacked, built server's folder, fetching, building and training it the first time.

    The zip is unpacked into a temporary folder renamed into place, so an interrupted fetch never leaves a
    half-filled folder that a later run would take for complete.
    """
    target = dist_dir()
    built = (target / _BUILT).is_file() and (target / _BUILT).read_text(encoding="utf-8") == _build_stamp()
    if (target / _COMPLETE).is_file() and built and (not aot or (target / _AOT_TRIED).is_file()):
        return target
    java, major = java_for_keycloak()
    with _locked(CACHE / f".keycloak-{keycloak_version()}.lock"):
        if not (target / _COMPLETE).is_file():
            _fetch(target, quiet)
        if not (target / _BUILT).is_file() or (target / _BUILT).read_text(encoding="utf-8") != _build_stamp():
            _build(target, java, major, quiet)
        if aot and not (target / _AOT_TRIED).is_file():
            if major >= MIN_JAVA_AOT:
                _record_aot(target, java, major, quiet)
            (target / _AOT_TRIED).write_text(str(java), encoding="utf-8")
    return target


def _build_stamp() -> str:
    return json.dumps(BUILD_OPTIONS)


def _fetch(target: Path, quiet: bool) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KeycloakDistError(
            "no `mvn` found: Keycloak is fetched with Maven (`sudo apt-get install maven`, or `sudo make java`)"
        )
    version = keycloak_version()
    target.parent.mkdir(parents=True, exist_ok=True)
    download = Path(tempfile.mkdtemp(prefix=".keycloak-zip-", dir=target.parent))
    staging = Path(tempfile.mkdtemp(prefix=".keycloak-", dir=target.parent))
    try:
        done = copy_dependencies(mvn, POM, download, "-DexcludeTransitive=true", "-DincludeTypes=zip", quiet=quiet)
        if done.returncode != 0:
            raise KeycloakDistError(f"fetching Keycloak {version} with Maven failed:\n{done.stdout}{done.stderr}")
        archive = download / f"keycloak-quarkus-dist-{version}.zip"
        if not archive.is_file():
            raise KeycloakDistError(f"Maven finished but {archive.name} is not in {download}")
        _unzip(archive, staging)
        inner = staging / f"keycloak-{version}"
        if not (inner / "bin" / "kc.sh").is_file():
            raise KeycloakDistError(f"{archive.name} has no keycloak-{version}/bin/kc.sh")
        (inner / _COMPLETE).write_text(version, encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        inner.rename(target)
    finally:
        shutil.rmtree(download, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)


def _unzip(archive: Path, into: Path) -> None:
    """Unpack keeping the scripts' execute bits (zipfile drops Unix modes)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, into))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                path.chmod(mode & 0o777)


def kc_environment(java: Path, java_opts: str) -> dict[str, str]:
    """kc.sh's environment: our Java and JVM options, none of a caller's KC_* settings leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KC_", "KEYCLOAK_ADMIN", "JAVA_OPTS"))}
    env.update(JAVA=str(java), JAVA_OPTS=java_opts)
    env.pop("JAVA_ADD_OPENS", None)
    return env


def _build(target: Path, java: Path, major: int, quiet: bool) -> None:
    """`kc.sh build`: Quarkus' build step once, so that starts can skip it (`start --optimized`)."""
    (target / _BUILT).unlink(missing_ok=True)
    (target / _AOT).unlink(missing_ok=True)  # recorded against the old build
    (target / _AOT_TRIED).unlink(missing_ok=True)
    done = subprocess.run(  # noqa: S603 - the distribution's own script
        [str(target / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
        env=kc_environment(java, jvm_options(major)),
        capture_output=quiet,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise KeycloakDistError(f"`kc.sh build` failed:\n{done.stdout}{done.stderr}")
    (target / _BUILT).write_text(_build_stamp(), encoding="utf-8")


def _record_aot(target: Path, java: Path, major: int, quiet: bool) -> None:
    """One training start of a throwaway instance (realm import, discovery, a password grant) recording the
    classes Keycloak loads into an ahead-of-time cache that later starts map instead of loading again.

    Best effort: a start without the cache is only slower, so a failed training is reported, not raised.
    """
    from embedded.demo_realm import DEMO_PASSWORD, TEST_CLIENT_ID, generate_realm, load_staff, write_realm

    began = time.monotonic()
    output = target / _AOT
    home = Path(tempfile.mkdtemp(prefix=".keycloak-training-", dir=target.parent))
    port = find_free_port()
    log = home / "training.log"
    try:
        prepare_home(home, target)
        realm = generate_realm(load_staff(), console_secret="training-only", for_tests=True)  # noqa: S106
        write_realm(home / "data" / "import", realm)
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - the distribution's own script
                [str(target / "bin" / "kc.sh"), *start_arguments(home, port)],
                env=kc_environment(java, jvm_options(major, record_aot=output)),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                base = f"http://127.0.0.1:{port}/realms/utility"
                wait_for_discovery(base, proc, time.monotonic() + 300)
                _get_json(f"{base}/protocol/openid-connect/certs")
                _password_grant(base, TEST_CLIENT_ID, "agent.li", DEMO_PASSWORD)
            finally:
                # The JVM writes the cache on its way out: give it the time it needs.
                terminate_process(proc, sig=signal.SIGTERM, timeout=180, group=False)
                terminate_process(proc, sig=signal.SIGKILL, timeout=5, group=True)
        if not quiet:
            print(f"Keycloak ahead-of-time cache recorded in {time.monotonic() - began:.0f}s: {output}")
    except (OSError, RuntimeError, ValueError) as exc:
        output.unlink(missing_ok=True)
        print(
            f"warning: no ahead-of-time cache for Keycloak (starts stay slower): {exc}\n{log_tail(log)}",
            file=sys.stderr,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def prepare_home(home: Path, dist: Path) -> None:
    """An instance's own Keycloak home: its `data/` (H2 database, import folder), the shared built `lib/`.

    Keycloak keeps its database, transaction logs and import folder under `kc.home.dir`; pointing that at the
    caller's folder puts every instance's state there while all share the one built distribution.
    """
    (home / "data" / "import").mkdir(parents=True, exist_ok=True)
    (home / "providers").mkdir(exist_ok=True)
    lib = home / "lib"
    if lib.is_symlink() or lib.exists():
        if lib.is_symlink() and lib.resolve() == (dist / "lib").resolve():
            return
        lib.unlink()
    lib.symlink_to(dist / "lib", target_is_directory=True)


def start_arguments(
    home: Path,
    port: int,
    *,
    host: str = "127.0.0.1",
    extra: Sequence[str] = (),
) -> list[str]:
    """`kc.sh` arguments of an optimized start: HTTP only on host:port, one local node, the realm imported if new.

    `--hostname` pins the issuer to this URL whichever name a client uses (127.0.0.1 or localhost), so tokens
    the browser's sign-in produced verify against the issuer the services were given.
    """
    return [
        "start",
        "--optimized",
        f"-Dkc.home.dir={home}",
        "--http-enabled=true",
        f"--http-host={host}",
        f"--http-port={port}",
        f"--hostname=http://{host}:{port}",
        "--hostname-strict=false",
        "--cache=local",
        "--log-console-color=false",
        "--import-realm",
        *extra,
    ]


def wait_for_discovery(realm_url: str, proc: subprocess.Popen[bytes], deadline: float) -> dict[str, object]:
    """Poll the realm's discovery document until it answers; fail early if the process exits."""
    url = f"{realm_url}/.well-known/openid-configuration"
    last = "no answer yet"
    while True:
        if proc.poll() is not None:
            raise KeycloakDistError(f"Keycloak exited during start-up (exit {proc.returncode})")
        try:
            return _get_json(url, timeout=2)
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.monotonic() > deadline:
            raise KeycloakDistError(f"Keycloak did not answer {url} in time (last: {last})")
        time.sleep(0.2)


def _get_json(url: str, timeout: float = 10) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our local http URL
        return dict(json.load(response))


def _password_grant(realm_url: str, client_id: str, username: str, password: str) -> dict[str, object]:
    body = urllib.parse.urlencode(
        {"grant_type": "password", "client_id": client_id, "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(f"{realm_url}/protocol/openid-connect/token", data=body, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our local http URL
        return dict(json.load(response))


def main(argv: list[str] | None = None) -> int:
    """Fetch and build the server if needed and check Java; print the folder."""
    parser = argparse.ArgumentParser(prog="python -m embedded.keycloak_dist", description=main.__doc__)
    parser.add_argument(
        "--no-aot-cache",
        action="store_true",
        help="skip the training start that records the ahead-of-time class cache (a later run without this records it)",
    )
    args = parser.parse_args(argv)
    try:
        java, major = java_for_keycloak()
        dist = ensure_keycloak(quiet=False, aot=not args.no_aot_cache)
    except KeycloakDistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cache = aot_cache(dist)
    print(
        f"Keycloak {keycloak_version()}: {dist} (java {major}: {java}; "
        f"ahead-of-time cache: {cache.name if cache else 'none'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
