"""Compose and Kubernetes connect to Postgres as production must (`sslmode=verify-full`, the CA where
`sslrootcert` says): compose generates and mounts the certificates, kustomize mounts the `postgres-ca` Secret in
every pod that connects, and the example Secret's URL is one the services accept."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from shared.db import refuse_unverified_database

ROOT = Path(__file__).resolve().parents[2]


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_compose_verifies_the_database_with_the_ca_it_mounts() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    # Every container of the anchor carries the URL; the certificate job itself does not connect.
    connecting = {
        name: s
        for name, s in services.items()
        if "DATABASE_URL" in s.get("environment", {}) and name != "postgres-certs"
    }
    assert {"migrate", "intake", "dispatch", "followup", "reporting", "console", "notify", "channels"} <= set(
        connecting
    )
    for name, service in connecting.items():
        # As compose hands it over: ${POSTGRES_PASSWORD:?...} substituted (its `?` is not the query's).
        url = re.sub(r"\$\{[^}]*\}", "password", service["environment"]["DATABASE_URL"])
        refuse_unverified_database("prod", url)
        (root_cert,) = _query(url)["sslrootcert"]
        folder = str(Path(root_cert).parent)
        assert f"postgres-certs:{folder}:ro" in service.get("volumes", []), name
    postgres = services["postgres"]
    assert "ssl=on" in postgres["command"] and "postgres-certs" in postgres["depends_on"]
    assert "operations.postgres_certificates" in services["postgres-certs"]["command"]


def test_the_example_secret_url_is_one_the_services_accept() -> None:
    secret = yaml.safe_load((ROOT / "deploy/k8s/secret.example.yaml").read_text())
    url = secret["stringData"]["DATABASE_URL"]
    refuse_unverified_database("prod", url)
    assert _query(url)["sslrootcert"] == ["/etc/utility/postgres-ca/ca.crt"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_every_pod_that_connects_mounts_the_database_ca() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy/k8s")], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    for doc in yaml.safe_load_all(built):
        if not doc or doc["kind"] not in ("Deployment", "Job"):
            continue
        spec = doc["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            env = {e["name"] for e in container.get("env", [])}
            if "DATABASE_URL" not in env:
                continue
            mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
            assert mounts["postgres-ca"]["mountPath"] == "/etc/utility/postgres-ca", doc["metadata"]["name"]
            assert mounts["postgres-ca"]["readOnly"] is True
        assert any(v.get("secret", {}).get("secretName") == "postgres-ca" for v in spec["volumes"]) or not any(
            "DATABASE_URL" in {e["name"] for e in c.get("env", [])} for c in spec["containers"]
        )
