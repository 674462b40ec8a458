"""Every service is deployed and watched the same way: docker compose, the Kubernetes manifests, the Prometheus
scrape config, the ServiceMonitor and the ServiceDown/ServiceMissing alerts all know each service under
`services/` (found from the code, so a new service missing from one of them fails here), on its port, with its
`/readyz` health check; and the environment each deployment gives a service is one its settings accept with
`APP_ENV=prod`, which refuses development secrets — so compose and Kubernetes name every secret a service needs.

No Docker or cluster is needed: compose's `${VAR:-default}` / `${VAR:?message}` interpolation is done here, and the
Kubernetes env is assembled from the ConfigMaps, the Deployment and `secret.example.yaml` (its placeholders swapped
for long tokens, as an operator's real Secret would hold). `kubectl kustomize`, when installed, builds the
manifests as `kubectl apply -k` would."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OBS = ROOT / "deploy" / "observability"


def _settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, ServiceSettings) and value.__module__ == module.__name__
    ]
    assert len(found) == 1, (service, found)
    return found[0]


def _services() -> dict[str, int]:
    """Each runnable service (`services/<name>/__main__.py`) and its default HTTP port."""
    found = {}
    for main in sorted((ROOT / "services").glob("*/__main__.py")):
        name = main.parent.name
        found[name] = _settings_class(name).model_fields[f"{name}_http_port"].default
    return found


SERVICES = _services()


def test_the_services_are_found_from_the_code() -> None:
    assert SERVICES == {
        "intake": 8000,
        "dispatch": 8001,
        "followup": 8002,
        "reporting": 8003,
        "console": 8004,
        "notify": 8005,
        "channels": 8006,
    }


# -- docker compose ----------------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$(\$|\{)")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: `$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
    `${VAR?message}`; the default may hold braces (`${MAP:-{}}`)."""
    out, i = [], 0
    while (match := _VARIABLE.search(text, i)) is not None:
        out.append(text[i : match.start()])
        if match.group(1) == "$":
            out.append("$")
            i = match.end()
            continue
        depth, j = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        body = text[match.end() : j - 1]
        name, op, arg = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?]|)(.*)", body, re.S).groups()  # type: ignore[union-attr]
        value = env.get(name)
        missing = value is None or (op.startswith(":") and value == "")
        if op.endswith("?") and missing:
            raise KeyError(f"{name}: {arg}")
        out.append(interpolate(arg, env) if op.endswith("-") and missing else (value or ""))
        i = j
    out.append(text[i:])
    return "".join(out)


@cache
def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _compose_required() -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", (ROOT / "docker-compose.yml").read_text()))


def _compose_env(service: str, host: Mapping[str, str]) -> dict[str, str]:
    environment = _compose()["services"][service]["environment"]
    return {key: interpolate(str(value), host) for key, value in environment.items()}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_runs_each_service_like_the_others(service: str) -> None:
    port = SERVICES[service]
    spec = _compose()["services"][service]
    prefix = service.upper()
    assert spec["image"] == "utility-complaints:${APP_VERSION:-latest}"
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert spec["restart"] == "unless-stopped"
    env = spec["environment"]
    assert env["APP_ENV"] == "prod"
    assert "@postgres:5432/utility" in env["DATABASE_URL"]
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert (env[f"{prefix}_HTTP_HOST"], env[f"{prefix}_HTTP_PORT"]) == ("0.0.0.0", port)
    assert [str(p).rsplit(":", 1)[-1] for p in spec["ports"]] == [str(port)]
    assert spec["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
        "kafka-init": {"condition": "service_completed_successfully"},
    }
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(spec["healthcheck"]["test"])


def _secret_example() -> dict[str, str]:
    """secret.example.yaml's values with each `dev-only-PLACEHOLDER-x` made a long token (the same x, the same
    token: keys that must match still do)."""
    data = yaml.safe_load((K8S / "secret.example.yaml").read_text())["stringData"]
    return {k: re.sub(r"dev-only-PLACEHOLDER-([\w-]+)", r"tok-\1-0123456789abcdef", v) for k, v in data.items()}


def _configmaps() -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d["data"] for d in _k8s_docs() if d["kind"] == "ConfigMap"}


def _compose_host_env() -> dict[str, str]:
    """What an operator's `.env` holds: every variable compose requires, nothing optional."""
    secrets = _secret_example()
    host = {
        "POSTGRES_PASSWORD": "a-long-url-safe-password",
        "GRAFANA_ADMIN_PASSWORD": "a-long-admin-password",
        "CONSOLE_PUBLIC_URL": "https://console.utility.example",
    }
    host |= {name: secrets[name] for name in _compose_required() if name in secrets}
    assert set(host) == _compose_required(), "a variable compose requires that neither .env above nor the Secret has"
    return host


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The process environment emptied (restored after), so settings read only what a deployment gives them."""
    for key in list(os.environ):
        monkeypatch.delenv(key)
    yield monkeypatch


def _set(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_gives_each_service_settings_it_accepts_in_prod(
    service: str, clean_environ: pytest.MonkeyPatch
) -> None:
    env = _compose_env(service, _compose_host_env())
    _set(clean_environ, env)
    settings = _settings_class(service)()
    assert settings.app_env == "prod"
    assert not settings.is_dev


def test_compose_refuses_to_start_without_a_secret_of_console_or_notify() -> None:
    host = _compose_host_env()
    for service, name in [
        ("console", "CONSOLE_OIDC_CLIENT_SECRET"),
        ("console", "CONSOLE_DIRECTORY_CREDENTIALS"),
        ("console", "CONSOLE_PUBLIC_URL"),
        ("notify", "NOTIFY_CREDENTIALS"),
        ("notify", "NOTIFY_DIRECTORY_KEY"),
    ]:
        with pytest.raises(KeyError, match=name):
            _compose_env(service, {k: v for k, v in host.items() if k != name})


def test_compose_wires_console_and_notify_to_each_other_and_the_services() -> None:
    console = _compose_env("console", _compose_host_env())
    notify = _compose_env("notify", _compose_host_env())
    assert console["CONSOLE_NOTIFY_URL"] == "http://notify:8005"
    for service in ("intake", "dispatch", "followup", "reporting"):
        assert console[f"{service.upper()}_URL"] == f"http://{service}:{SERVICES[service]}"
    assert notify["NOTIFY_DIRECTORY_URL"] == "http://console:8004"
    # Notify reads the directory with one of the console's directory keys.
    assert notify["NOTIFY_DIRECTORY_KEY"] in json.loads(console["CONSOLE_DIRECTORY_CREDENTIALS"])


_PROVIDER_MODULES = ("aliyun_sms", "tencent_sms", "wechat", "email_smtp")
#: What turns each vendor on (placeholders; only whether the provider is configured is checked).
_VENDOR_ENV = {
    "ALIYUN_SMS_ACCESS_KEY_ID": "LTAI-example",
    "ALIYUN_SMS_ACCESS_KEY_SECRET": "aliyun-secret-example",
    "ALIYUN_SMS_SIGN_NAME": "某市供热",
    "TENCENT_SMS_SECRET_ID": "AKID-example",
    "TENCENT_SMS_SECRET_KEY": "tencent-secret-example",
    "TENCENT_SMS_SDK_APP_ID": "1400000000",
    "TENCENT_SMS_SIGN_NAME": "某市供热",
    "WECHAT_APP_ID": "wx0123456789abcdef",
    "WECHAT_APP_SECRET": "wechat-secret-example",
    "SMTP_HOST": "smtp.utility.example",
    "NOTIFY_EMAIL_FROM": "notices@utility.example",
    "NOTIFY_EMAIL_DOMAIN": "utility.example",
}


def _provider_settings() -> dict[str, Any]:
    return {m: importlib.import_module(f"services.notify.providers.{m}").Settings() for m in _PROVIDER_MODULES}


def test_compose_leaves_notify_vendors_off_with_the_codes_defaults_until_their_credentials_are_set(
    clean_environ: pytest.MonkeyPatch,
) -> None:
    clean_environ.setenv("APP_ENV", "prod")
    defaults = _provider_settings()
    _set(clean_environ, _compose_env("notify", _compose_host_env()))
    from_compose = _provider_settings()
    # Empty placeholders, and every other default the code's own (an empty number or JSON map would not parse).
    assert from_compose == defaults
    assert not any(s.enabled for s in from_compose.values())

    _set(clean_environ, _compose_env("notify", _compose_host_env() | _VENDOR_ENV))
    assert {m: s.enabled for m, s in _provider_settings().items()} == dict.fromkeys(_PROVIDER_MODULES, True)


def test_compose_notify_directory_settings_are_accepted_in_prod(clean_environ: pytest.MonkeyPatch) -> None:
    from services.notify.directory import Settings

    _set(clean_environ, _compose_env("notify", _compose_host_env()))
    settings = Settings()
    assert settings.notify_directory_url == "http://console:8004"
    assert "dev-only" not in settings.notify_directory_key


# -- Kubernetes --------------------------------------------------------------------------------------------------


@cache
def _k8s_docs() -> list[dict[str, Any]]:
    """Every manifest `kubectl apply -k deploy/k8s` applies (read once; the tests only read them)."""
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    return [d for name in resources for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def _k8s(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} in deploy/k8s (kustomization.yaml's resources): {len(found)}"
    return found[0]


def _container(service: str) -> dict[str, Any]:
    containers = _k8s("Deployment", service)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == [service]
    return containers[0]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_kubernetes_runs_each_service_like_the_others(service: str) -> None:
    port = SERVICES[service]
    deployment = _k8s("Deployment", service)
    pod = deployment["spec"]["template"]
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    assert pod["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }
    assert pod["spec"]["securityContext"]["runAsUser"] == 10001
    assert pod["spec"]["enableServiceLinks"] is False
    assert [c["command"] for c in pod["spec"]["initContainers"]] == [["python", "-m", "operations.migrations"]]
    container = _container(service)
    assert container["command"] == ["python", "-m", f"services.{service}"]
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env[f"{service.upper()}_HTTP_HOST"], env[f"{service.upper()}_HTTP_PORT"]) == ("0.0.0.0", str(port))
    assert {"configMapRef": {"name": "utility-complaints-config"}} in container["envFrom"]
    probes = {p: container[f"{p}Probe"]["httpGet"] for p in ("startup", "liveness", "readiness")}
    assert probes == {
        "startup": {"path": "/healthz", "port": "http"},
        "liveness": {"path": "/healthz", "port": "http"},
        "readiness": {"path": "/readyz", "port": "http"},
    }
    resources = container["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert _k8s("Service", service)["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
    assert _k8s("PodDisruptionBudget", service)["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": service
    }
    scaled = _k8s("ScaledObject", service)["spec"]
    assert scaled["scaleTargetRef"] == {"name": service}
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= 12  # 12 partitions per topic


def test_notify_scales_on_its_request_lag() -> None:
    triggers = _k8s("ScaledObject", "notify")["spec"]["triggers"]
    kafka = [t["metadata"] for t in triggers if t["type"] == "kafka"]
    assert [(t["consumerGroup"], t["topic"]) for t in kafka] == [("notify.requests", "notification.requested")]
    from services.notify import consumers
    from services.notify.settings import NotifySettings

    # The group the consumer really joins (with its default prefix), and the topic it reads.
    prefix = NotifySettings.model_fields["notify_consumer_group"].default
    assert consumers.REQUESTS.group_id(prefix) == "notify.requests"
    assert consumers.REQUESTS.topics == ("notification.requested",)


def _k8s_env(service: str) -> dict[str, str]:
    """What the service's container sees: its ConfigMaps, its values, and its Secret keys (the example's)."""
    container = _container(service)
    configmaps, secret = _configmaps(), _secret_example()
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        env |= configmaps[source["configMapRef"]["name"]]
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "utility-complaints-secrets"
            assert ref["key"] in secret or ref.get("optional"), f"{service}: {ref['key']} not in secret.example.yaml"
            if ref["key"] in secret:
                env[item["name"]] = secret[ref["key"]]
    return env


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_kubernetes_gives_each_service_settings_it_accepts_in_prod(
    service: str, clean_environ: pytest.MonkeyPatch
) -> None:
    _set(clean_environ, _k8s_env(service))
    settings = _settings_class(service)()
    assert settings.app_env == "prod"


def test_kubernetes_wires_console_and_notify(clean_environ: pytest.MonkeyPatch) -> None:
    console, notify = _k8s_env("console"), _k8s_env("notify")
    assert console["CONSOLE_NOTIFY_URL"] == "http://notify:8005"
    for service in ("intake", "dispatch", "followup", "reporting"):
        assert console[f"{service.upper()}_URL"] == f"http://{service}:{SERVICES[service]}"
    assert console["CONSOLE_PUBLIC_URL"].startswith("https://")
    assert notify["NOTIFY_DIRECTORY_URL"] == "http://console:8004"
    assert notify["NOTIFY_DIRECTORY_KEY"] in json.loads(console["CONSOLE_DIRECTORY_CREDENTIALS"])

    from services.notify.directory import Settings

    _set(clean_environ, notify)
    assert Settings().notify_directory_url == "http://console:8004"


def test_kubernetes_notify_can_turn_on_every_vendor_and_leaves_them_at_the_codes_defaults(
    clean_environ: pytest.MonkeyPatch,
) -> None:
    container = _container("notify")
    configmap = _configmaps()["notify-providers"]
    secret_keys = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
    # Every variable that turns a vendor on reaches the container: a credential from the Secret (optional, so a
    # vendor not used needs no key), the rest from the ConfigMap.
    assert set(_VENDOR_ENV) <= set(configmap) | secret_keys
    optional = {e["name"] for e in container["env"] if e.get("valueFrom", {}).get("secretKeyRef", {}).get("optional")}
    assert optional == secret_keys - {
        "DATABASE_URL",
        "NOTIFY_CREDENTIALS",
        "NOTIFY_DIRECTORY_KEY",
        "KAFKA_PASSWORD_NOTIFY",
    }
    defaults = _provider_settings()
    _set(clean_environ, configmap)
    assert _provider_settings() == defaults


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_every_service() -> None:
    done = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    built = [d for d in yaml.safe_load_all(done.stdout) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in built}
    for service in SERVICES:
        assert {("Deployment", service), ("Service", service), ("ScaledObject", service)} <= kinds
    bootstrap = _configmaps()["utility-complaints-config"]["KAFKA_BOOTSTRAP_SERVERS"]
    for scaled in (d for d in built if d["kind"] == "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            if trigger["type"] == "kafka":
                assert trigger["metadata"]["bootstrapServers"] == bootstrap, scaled["metadata"]["name"]


# -- the image ---------------------------------------------------------------------------------------------------


def test_the_image_holds_every_package_the_wheel_installs() -> None:
    """The build stage copies each top-level package pyproject.toml's wheel includes (the migrate job runs
    `operations.migrations`, kafka-init `embedded.create_topics`)."""
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = {p.rstrip("*") for p in include["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "deploy" / "Dockerfile").read_text(), re.M))
    assert packages == copied


# -- Prometheus --------------------------------------------------------------------------------------------------


def test_prometheus_scrapes_each_service_on_its_port() -> None:
    config = yaml.safe_load((OBS / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service, port in SERVICES.items():
        assert jobs[service]["dns_sd_configs"] == [
            {"names": [service], "type": "A", "port": port, "refresh_interval": "15s"}
        ]


def test_the_service_monitor_selects_each_service() -> None:
    monitor = yaml.safe_load((OBS / "k8s" / "servicemonitor.yaml").read_text())
    [expression] = monitor["spec"]["selector"]["matchExpressions"]
    assert expression["key"] == "app.kubernetes.io/name"
    assert expression["operator"] == "In"
    assert sorted(expression["values"]) == sorted(SERVICES)
    assert monitor["spec"]["endpoints"][0]["port"] == "http"  # the name of each Service's port


def _rule(name: str) -> str:
    groups = yaml.safe_load((OBS / "prometheus" / "alerts.yml").read_text())["groups"]
    return next(r["expr"] for g in groups for r in g["rules"] if r.get("alert") == name)


def test_service_down_and_missing_watch_each_service() -> None:
    down = re.search(r'up\{job=~"([^"]+)"\} == 0', _rule("ServiceDown"))
    assert down is not None
    assert sorted(down.group(1).split("|")) == sorted(SERVICES)
    assert sorted(re.findall(r'absent\(up\{job="(\w+)"\}\)', _rule("ServiceMissing"))) == sorted(SERVICES)


def test_the_promtool_tests_cover_console_and_notify() -> None:
    """alerts_test.yml (run by test_deploy_observability) fires ServiceDown and ServiceMissing for the new
    services too, not only for the first four."""
    cases = yaml.safe_load((OBS / "prometheus" / "alerts_test.yml").read_text())["tests"]
    fired = {
        (t["alertname"], alert["exp_labels"].get("job"))
        for case in cases
        for t in case["alert_rule_test"]
        for alert in t["exp_alerts"]
    }
    for service in ("console", "notify"):
        assert ("ServiceDown", service) in fired
    assert ("ServiceMissing", "notify") in fired
