"""Compose and Kubernetes run Kafka as `make run` does (issue 25): SASL_SSL with SCRAM-SHA-512, the brokers' CA
mounted where KAFKA_SSL_CAFILE says, one principal per service, the topic tool as `admin`.

Compose's `kafka-certs` job is run here for real (`operations.kafka_certificates` into a temporary folder): its
certificate verifies for the name `kafka` against its CA, its server.properties holds the embedded node's settings,
and its start.sh's format command, run with the embedded Kafka's own storage tool, formats storage with every
principal's SCRAM credential. No Docker or cluster: compose is read as YAML, Kubernetes through `kubectl kustomize`
when installed, so what runs inside the containers (the image's scripts, the broker starting) is not exercised."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from embedded.broker import NODE_SETTINGS, SECURITY_SETTINGS
from embedded.kafka_dist import ensure_kafka, java_binary
from operations import kafka_certificates
from operations.kafka_certificates import password_variable
from shared.kafka.principals import ADMIN, SERVICES, USERS

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {user: f"pw-{user}-0123456789abcdef" for user in USERS}
ENVIRON = {password_variable(user): password for user, password in PASSWORDS.items()}


def _compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    return services


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _properties(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kafka-certs job's folders, made as compose runs it (the owner left out: no root here)."""
    base = tmp_path_factory.mktemp("kafka-certs")
    command = _compose()["kafka-certs"]["command"]
    argv = [*command[command.index("operations.kafka_certificates") + 1 :]]
    argv[argv.index("--out") + 1] = str(base / "secured")
    argv[argv.index("--ca-out") + 1] = str(base / "ca")
    del argv[argv.index("--owner") : argv.index("--owner") + 2]
    assert kafka_certificates.main(argv, ENVIRON) == 0
    return base


def test_the_job_refuses_to_run_without_every_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ = {k: v for k, v in ENVIRON.items() if k != "KAFKA_PASSWORD_OUTAGE_SYSTEM"}
    argv = ["--out", str(tmp_path / "s"), "--ca-out", str(tmp_path / "c"), "--host", "kafka"]
    assert kafka_certificates.main(argv, environ) == 1
    assert "KAFKA_PASSWORD_OUTAGE_SYSTEM" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    quoted = ENVIRON | {"KAFKA_PASSWORD_INTAKE": 'a],b"c'}
    assert kafka_certificates.main(argv, quoted) == 1
    assert "KAFKA_PASSWORD_INTAKE" in capsys.readouterr().err


def test_the_certificate_names_kafka_and_verifies_against_the_ca_clients_mount(generated: Path) -> None:
    secured = generated / "secured"
    ca_pem = (generated / "ca" / "ca.pem").read_bytes()
    assert ca_pem == (secured / "ca.pem").read_bytes()
    ca = x509.load_pem_x509_certificate(ca_pem)
    chain = x509.load_pem_x509_certificates((secured / "broker.pem").read_bytes())
    leaf = chain[0]
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kafka" in names.get_values_for_type(x509.DNSName)
    assert b"PRIVATE KEY" in (secured / "broker.pem").read_bytes()
    for path in secured.iterdir():
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} readable by others"
    # Kept on a second run: a restart never changes the trust.
    command = ["--out", str(secured), "--ca-out", str(generated / "ca"), "--host", "kafka"]
    assert kafka_certificates.main(command, ENVIRON) == 0
    assert (generated / "ca" / "ca.pem").read_bytes() == ca_pem


def test_the_compose_broker_runs_the_embedded_nodes_settings(generated: Path) -> None:
    services = _compose()
    job, kafka = services["kafka-certs"], services["kafka"]
    out = _option(job["command"], "--out")
    settings = _properties(generated / "secured" / "server.properties")
    assert {k: settings[k] for k in NODE_SETTINGS} | {k: settings[k] for k in SECURITY_SETTINGS} == {
        **NODE_SETTINGS,
        **SECURITY_SETTINGS,
    }
    host = _option(job["command"], "--host")
    assert services["intake"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == f"{host}:9092" == kafka["hostname"] + ":9092"
    assert settings["advertised.listeners"] == f"SASL_SSL://{host}:9092"
    assert settings["controller.quorum.voters"] == f"1@{host}:9093"
    assert f"kafka-data:{settings['log.dirs']}" in kafka["volumes"]
    # The broker reads the folder the job wrote, starts by its start.sh, only after the job.
    assert f"kafka-secrets:{out}:ro" in kafka["volumes"] and f"kafka-secrets:{out}" in job["volumes"]
    assert kafka["entrypoint"] == ["/bin/sh", f"{out}/start.sh"]
    assert kafka["depends_on"] == {"kafka-certs": {"condition": "service_completed_successfully"}}
    assert settings["ssl.keystore.location"] == f"{generated}/secured/broker.pem"  # the --out given here
    assert f"--command-config {out}/admin.properties" in kafka["healthcheck"]["test"][1]
    assert f"--bootstrap-server {host}:9092" in kafka["healthcheck"]["test"][1]
    assert not [key for key in kafka["environment"] if key.startswith("KAFKA_")], "settings are server.properties'"
    admin = _properties(generated / "secured" / "admin.properties")
    assert (admin["security.protocol"], admin["sasl.mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert f'password="{PASSWORDS[ADMIN]}"' in admin["sasl.jaas.config"]


def _format_arguments(start: Path) -> list[str]:
    """The kafka-storage command line of start.sh, split as the shell would (CLUSTER_ID left as a word)."""
    (line,) = [line for line in start.read_text().splitlines() if "kafka-storage.sh" in line]
    return shlex.split(line)


def test_start_sh_formats_storage_with_every_principals_credential(generated: Path, tmp_path: Path) -> None:
    start = generated / "secured" / "start.sh"
    subprocess.run(["sh", "-n", str(start)], check=True, timeout=10)
    arguments = _format_arguments(start)
    assert arguments[:3] == ["/opt/kafka/bin/kafka-storage.sh", "format", "--ignore-formatted"]
    scram = [arguments[i + 1] for i, arg in enumerate(arguments) if arg == "--add-scram"]
    assert scram == [f"SCRAM-SHA-512=[name={user},password={PASSWORDS[user]}]" for user in USERS]
    # The same format, with Kafka's own storage tool, into a scratch log folder: the embedded Kafka's jars, fetched
    # as the session broker fetches them (`make test` has them already), never a skip that would hide the check.
    config = tmp_path / "server.properties"
    settings = _properties(generated / "secured" / "server.properties") | {"log.dirs": str(tmp_path / "data")}
    config.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    arguments[arguments.index("--config") + 1] = str(config)
    arguments[arguments.index("--cluster-id") + 1] = "3Fq8b6nVQ2ymR1hC2u9w4A"
    java = [str(java_binary()), "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", f"{ensure_kafka()}/*"]
    done = subprocess.run(
        [*java, "kafka.tools.StorageTool", *arguments[1:]], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "data" / "meta.properties").is_file()


def test_compose_gives_each_service_its_own_principal_and_the_topic_tool_admin() -> None:
    services = _compose()
    clients = {p.name: p.name for p in SERVICES} | {"kafka-init": ADMIN}
    for name, user in clients.items():
        env = services[name]["environment"]
        assert (env["KAFKA_SECURITY_PROTOCOL"], env["KAFKA_SASL_MECHANISM"]) == ("SASL_SSL", "SCRAM-SHA-512")
        assert env["KAFKA_SASL_USERNAME"] == user, name
        assert env["KAFKA_SASL_PASSWORD"].startswith("${" + password_variable(user) + ":?"), name
        folder = str(Path(env["KAFKA_SSL_CAFILE"]).parent)
        assert f"kafka-ca:{folder}:ro" in services[name]["volumes"], name
    job = services["kafka-certs"]
    assert job["environment"] == {
        password_variable(u): f"${{{password_variable(u)}:?set {password_variable(u)} "
        f"(the Kafka principal {u}'s password)}}"
        for u in USERS
    }
    assert _option(job["command"], "--ca-out") == str(
        Path(services["intake"]["environment"]["KAFKA_SSL_CAFILE"]).parent
    )


def test_the_example_secret_names_every_principals_password() -> None:
    secret = yaml.safe_load((ROOT / "deploy/k8s/secret.example.yaml").read_text())["stringData"]
    assert {password_variable(user) for user in USERS} <= set(secret)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubernetes_gives_each_kafka_client_its_principal_and_the_ca() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy/k8s")], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in yaml.safe_load_all(built)
        if d and d["kind"] in ("Deployment", "Job")
    }
    clients = {p.name: p.name for p in SERVICES} | {"create-topics": ADMIN}
    for name, user in clients.items():
        container = pods[name]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["KAFKA_SASL_USERNAME"]["value"] == user, name
        ref = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == ("utility-complaints-secrets", password_variable(user)), name
        folder = str(Path(env["KAFKA_SSL_CAFILE"]["value"]).parent)
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pods[name]["volumes"]}
        assert volumes[mounts[folder]]["secret"]["secretName"] == "kafka-ca", name


def test_keda_reads_each_lag_as_the_service_it_scales() -> None:
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy/k8s/keda.yaml").read_text()) if d]
    auths = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "TriggerAuthentication"}
    scaled = [d for d in docs if d["kind"] == "ScaledObject"]
    for obj in scaled:
        target = obj["spec"]["scaleTargetRef"]["name"]
        for trigger in (t for t in obj["spec"]["triggers"] if t["type"] == "kafka"):
            assert (trigger["metadata"]["sasl"], trigger["metadata"]["tls"]) == ("scram_sha512", "enable"), target
            auth = auths[trigger["authenticationRef"]["name"]]
            assert {(e["parameter"], e["name"], e["containerName"]) for e in auth["env"]} == {
                ("username", "KAFKA_SASL_USERNAME", target),
                ("password", "KAFKA_SASL_PASSWORD", target),
            }
            assert auth["secretTargetRef"] == [{"parameter": "ca", "name": "kafka-ca", "key": "ca.crt"}]
