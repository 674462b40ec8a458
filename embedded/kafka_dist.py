"""The Apache Kafka server the embedded platform runs: fetched from Maven Central, run with the local Java.

`embedded/kafka/pom.xml` pins the version (the same as the `apache/kafka` image of docker-compose.yml);
`mvn dependency:copy-dependencies` puts the server's jars into `.cache/kafka-<version>/libs` (git-ignored).
`python -m embedded.kafka_dist` does that once (`make run` and `make test` call it) and prints the folder; with
`--class-archive`, run from the virtualenv, it records the server's class archive (`record_class_archive`) too.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from embedded._maven import copy_dependencies, java_major
from embedded._process import log_tail

REPO_ROOT = Path(__file__).resolve().parent.parent
POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
#: Java the Kafka 4.x server needs at least.
MIN_JAVA = 17
INSTALL_HINT = (
    "the embedded Kafka needs Java {min}+ and Maven: as root `make run`/`make test` install them, "
    "otherwise run `sudo apt-get install default-jre-headless maven` (Debian/Ubuntu) or set JAVA_HOME"
)


class KafkaDistError(RuntimeError):
    """Java or Maven is missing, or the Kafka server could not be fetched."""


def kafka_version(pom: Path = POM) -> str:
    """The pinned Kafka version, read from the pom (the one place it is written for the embedded run)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text(encoding="utf-8"))
    if not match:
        raise KafkaDistError(f"{pom} does not set <kafka.version>")
    return match.group(1).strip()


def libs_dir(version: str | None = None) -> Path:
    """Where the server's jars live once fetched."""
    return REPO_ROOT / ".cache" / f"kafka-{version or kafka_version()}" / "libs"


def java_binary() -> Path:
    """`$JAVA_HOME/bin/java`, else `java` on PATH; refuses a Java older than MIN_JAVA."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate is None or not candidate.is_file():
        found = shutil.which("java")
        if found is None:
            raise KafkaDistError("no `java` found: " + INSTALL_HINT.format(min=MIN_JAVA))
        candidate = Path(found)
    major = java_major(candidate)
    if major is None or major < MIN_JAVA:
        raise KafkaDistError(f"{candidate} is not Java {MIN_JAVA}+: " + INSTALL_HINT.format(min=MIN_JAVA))
    return candidate


def ensure_kafka(quiet: bool = True) -> Path:
    """Return the folder of the server's jars, fetching them with Maven the first time.

    The jars land in a temporary folder renamed into place at the end, so an interrupted fetch never
    leaves a half-filled folder that a later run would take for complete.
    """
    target = libs_dir()
    if (target / ".complete").is_file():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaDistError("no `mvn` found: " + INSTALL_HINT.format(min=MIN_JAVA))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".libs-", dir=target.parent))
    try:
        done = copy_dependencies(mvn, POM, staging, "-DincludeScope=runtime", quiet=quiet)
        if done.returncode != 0:
            raise KafkaDistError(f"fetching Kafka {kafka_version()} with Maven failed:\n{done.stdout}{done.stderr}")
        if not any(staging.glob("kafka_2.13-*.jar")):
            raise KafkaDistError(f"Maven finished but no kafka_2.13 jar is in {staging}")
        (staging / ".complete").write_text(kafka_version(), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def class_archive(libs: Path) -> Path:
    """The class-data archive of the server's JVM (Java's AppCDS), beside its jars."""
    return libs.parent / "kafka-classes.jsa"


def record_class_archive(libs: Path) -> Path:
    """Start a node of our own once, with its topics, and stop it: at exit its JVM writes every class it loaded into
    an archive that later nodes map instead of loading and verifying the jars' classes again (their start takes
    about a third less CPU). Written aside and renamed into place, so a node never maps half an archive."""
    target = class_archive(libs)
    if target.is_file():
        return target
    from embedded.broker import EmbeddedBroker  # the broker runs on this module's jars: imported only here

    with tempfile.TemporaryDirectory(prefix=".record-", dir=libs.parent) as folder:
        recorded = Path(folder) / "classes.jsa"
        node = EmbeddedBroker(Path(folder) / "node", die_with_parent=True, record_classes_to=recorded)
        try:
            node.start()
            node.create_topics()
        finally:
            node.stop()
        if not recorded.is_file():
            raise KafkaDistError(f"the node stopped without writing its class archive:\n{log_tail(node.log_path)}")
        recorded.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Fetch the server if needed and check Java; print the jars' folder."""
    parser = argparse.ArgumentParser(prog="python -m embedded.kafka_dist", description=main.__doc__)
    parser.add_argument(
        "--class-archive",
        action="store_true",
        help="record the server's class archive too (needs the project's virtualenv; the fetch needs only Python)",
    )
    record = parser.parse_args(argv).class_archive
    try:
        java = java_binary()
        libs = ensure_kafka(quiet=False)
    except KafkaDistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Apache Kafka {kafka_version()}: {libs} (java: {java})")
    if record:
        try:
            print(f"class archive: {record_class_archive(libs)}")
        except Exception as exc:  # whatever failed, the server runs without the archive: only its starts are slower
            print(f"note: no class archive recorded, Kafka starts without one: {exc!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
