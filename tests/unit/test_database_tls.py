"""Postgres outside dev: only `sslmode=verify-full` connects (checked before dialling, the URL's password never in
the refusal), dev and test keep their plaintext embedded server; and the certificates compose generates for a
stack without its own PKI verify: the server's certificate chains to the CA and names the host clients dial."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from operations.postgres_certificates import ensure
from shared.db import refuse_unverified_database
from shared.runtime import connect_with_retry

URL = "postgresql://utility:s3cret-password@postgres:5432/utility"


@pytest.mark.parametrize("query", ["", "?sslmode=prefer", "?sslmode=require", "?sslmode=verify-ca", "?sslmode=disable"])
def test_production_refuses_a_database_it_does_not_verify(query: str) -> None:
    with pytest.raises(ValueError, match="sslmode=verify-full") as refused:
        refuse_unverified_database("prod", URL + query)
    assert "s3cret-password" not in str(refused.value)


def test_verify_full_connects_and_dev_and_test_are_unchanged() -> None:
    refuse_unverified_database("prod", URL + "?sslmode=verify-full&sslrootcert=/certs/postgres/ca.crt")
    for env in ("dev", "test"):
        refuse_unverified_database(env, URL)


async def test_a_service_refuses_before_dialling() -> None:
    """A refusal is not a database that is not up yet: no retry, no connection attempt (port 1 answers nothing)."""
    settings = SimpleNamespace(app_env="prod", database_url="postgresql://u:pw@127.0.0.1:1/x", database_pool_min=1)
    with pytest.raises(ValueError, match="verify-full"):
        await connect_with_retry(cast(Any, settings), deadline_s=0)


async def test_the_generated_certificates_verify_the_host_clients_dial(tmp_path: Path) -> None:
    assert ensure(tmp_path, ["postgres", "localhost"])
    assert not ensure(tmp_path, ["postgres"]), "kept as they are: restarts never change the trust"
    assert (tmp_path / "server.key").stat().st_mode & 0o077 == 0, "Postgres refuses a key others can read"
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(2))
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server)
    port = listening.sockets[0].getsockname()[1]
    try:
        client = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))  # verify-full: chain and host name
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="localhost")
        writer.write(b"ok")
        assert await reader.readexactly(2) == b"ok"
        writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="db.elsewhere")
    finally:
        listening.close()
        await listening.wait_closed()
