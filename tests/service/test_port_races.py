"""Issue 26, the runner's port race, for the servers that cannot be handed a bound socket: PostgreSQL, Kafka and
Keycloak. Each chooses a free port and binds it seconds later; another process starting meanwhile (four platforms
started at once) can take it. Each must then start again on another port, not fail with "address already in use".

The race is made certain rather than waited for: the port chooser's first answer is a port this test holds
listening, so the server's bind fails exactly as it would have had another process won the race; the server must
come up on the next port it chooses, and the log shows the lost bind. (The stand-ins bind port 0 themselves and the
services are handed their sockets: tests/unit/test_listen_handover.py.)
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from embedded._process import BIND_CONFLICT_MARKERS, run_sync
from embedded.broker import EmbeddedBroker
from embedded.demo_realm import generate_realm, load_staff
from embedded.identity import EmbeddedKeycloak
from embedded.postgres import EmbeddedPostgres
from tests.support.infrastructure import session_broker
from tests.support.ports import bound_socket, port_of


@pytest.fixture
def held() -> Iterator[socket.socket]:
    """A port another process "won": bound and listening, as a server of someone else's would hold it."""
    sock = bound_socket()
    sock.listen(16)
    yield sock
    sock.close()


def _chooser_giving_held(held: socket.socket, choose: Callable[[Any], int], *, after: int = 0) -> Callable[[Any], int]:
    """A port chooser whose answer number `after` + 1 is the held port (taken "between choice and bind"); the real
    chooser's otherwise."""
    answers = iter([None] * after + [port_of(held)])

    def chooser(self: Any) -> int:
        return next(answers, None) or choose(self)

    return chooser


def _logged_since(path: Path, offset: int) -> str:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", errors="replace")


def _lost_a_bind(text: str) -> bool:
    return any(marker in text for marker in BIND_CONFLICT_MARKERS)


def test_postgres_that_loses_its_port_starts_on_another(
    tmp_path: Path, held: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(EmbeddedPostgres, "_choose_port", _chooser_giving_held(held, EmbeddedPostgres._choose_port))
    postgres = EmbeddedPostgres(tmp_path / "postgres", durable=False, log_path=tmp_path / "postgres.log")
    postgres.start()
    try:
        assert postgres.port != port_of(held), "it moved off the taken port"
        assert "could not bind" in (tmp_path / "postgres.log").read_text(), "its first start did lose the race"

        async def served_dir() -> str:
            conn = await asyncpg.connect(postgres.dsn, timeout=10)
            try:
                return str(await conn.fetchval("SELECT current_setting('data_directory')"))
            finally:
                await conn.close()

        assert run_sync(served_dir) == str(postgres.data_dir), "the server on the new port is ours"
    finally:
        postgres.stop()


def test_postgres_on_a_port_it_was_given_does_not_move(tmp_path: Path, held: socket.socket) -> None:
    postgres = EmbeddedPostgres(tmp_path / "postgres", port=port_of(held), durable=False)
    with pytest.raises(RuntimeError, match="exited during startup"):
        postgres.start()
    assert postgres.port == port_of(held), "an operator's POSTGRES_PORT is never silently replaced"
    assert not postgres.is_running()


def test_kafka_that_loses_its_port_starts_on_another_and_outlives_the_thread_that_waited(
    tmp_path: Path, held: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the runner does: launched here, waited for in a short-lived thread (which, after the lost race, starts the
    node again). The node asks to die with the thread that forked it, so the second one must not be forked there."""
    # The controller's port (its second choice): bound first, so the lost race shows some seconds sooner.
    monkeypatch.setattr(
        EmbeddedBroker, "_choose_port", _chooser_giving_held(held, EmbeddedBroker._choose_port, after=1)
    )
    broker = session_broker(tmp_path / "kafka")
    broker.launch()
    first_offset = 0
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            broker.wait_started()
        except BaseException as exc:
            failure.append(exc)

    waiter = threading.Thread(target=wait, name="kafka-ready")
    waiter.start()
    waiter.join()
    try:
        assert not failure, f"the node did not start: {failure}"
        assert port_of(held) not in (broker.port, broker._controller_port), "it moved off the taken port"
        assert _lost_a_bind(_logged_since(broker.log_path, first_offset)), "its first start did lose the race"
        report = broker.create_topics(["complaint.received"], 1)  # seconds after the waiting thread ended
        assert report.created == ["complaint.received"], "the node answers on its new port"
        assert broker.is_running(), "the node started again outlives the thread that started it"
        assert "Terminating process due to signal" not in broker.log_path.read_text(), "nobody told it to stop"
    finally:
        broker.stop()


@pytest.mark.skipif(os.environ.get("UC_PORT_RACE_KEYCLOAK") != "1", reason="two Keycloak starts: see the docstring")
def test_keycloak_that_loses_its_port_starts_on_another(
    tmp_path: Path, held: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run with UC_PORT_RACE_KEYCLOAK=1: Quarkus binds its port only at the end of its start, so this costs two
    Keycloak starts (about a minute on 2 cores), more than `make test` can spend on it."""
    monkeypatch.setattr(EmbeddedKeycloak, "_choose_port", _chooser_giving_held(held, EmbeddedKeycloak._choose_port))
    keycloak = EmbeddedKeycloak(
        tmp_path / "keycloak",
        generate_realm(load_staff(), console_secret="port-race-only", for_tests=True),
        log_path=tmp_path / "keycloak.log",
        die_with_parent=True,
    )
    keycloak.start()
    try:
        assert keycloak.port != port_of(held), "it moved off the taken port"
        assert keycloak.issuer.endswith(f":{keycloak.port}/realms/utility"), "the issuer names the new port"
        assert _lost_a_bind(keycloak.log_path.read_text()), "its first start did lose the race"
    finally:
        keycloak.stop()
