"""deploy/observability holds up: the alert rules pass `promtool check rules` and their unit tests with synthetic
series (`promtool test rules`); the compose scrape config passes `promtool check config`; the Kubernetes
PrometheusRule carries the same rules; every dashboard validates against what Grafana's provisioning needs,
its queries parse as PromQL, and every metric the dashboards and alerts name is one the services expose — or, for
the infrastructure rules (disks, Kafka brokers, Postgres), one the pinned exporters were seen to publish
(exporter_scrapes/: scrapes recorded from those versions; no exporter runs here).

promtool comes from Debian's `prometheus` package (`make promtool`, run by `make test`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.observability.grafana_schema import Dashboard, DashboardProvisioning, DataSourceProvisioning

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
ALERTS = OBS / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((OBS / "grafana" / "dashboards").glob("*.json"))
#: The group of rules on the disks, brokers and database, read through exporters rather than the services.
INFRASTRUCTURE = "utility-complaints-infrastructure"
SCRAPES = sorted((Path(__file__).parent / "exporter_scrapes").glob("*.prom"))
#: Where compose's broker reads deploy/observability/kafka/jmx-exporter.yml.
_JMX_CONFIG_IN_BROKER = "/kafka/metrics-config/jmx-exporter.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is missing: `make promtool` (as root) installs Debian's prometheus package"
)


def promtool(*args: str, cwd: Path = ROOT) -> str:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _alert_exprs(*, infrastructure: bool) -> list[tuple[str, str]]:
    """(where, PromQL) of the rules on the services' own metrics, or of the infrastructure rules."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [
        (f"alert {r['alert']}", r["expr"])
        for g in groups
        if (g["name"] == INFRASTRUCTURE) == infrastructure
        for r in g["rules"]
    ]


def _exprs() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard query and alert rule on the services' metrics; `$job` as a match-all."""
    found = _alert_exprs(infrastructure=False)
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            found += [
                (f"{path.name}: {panel['title']}", t["expr"].replace("$job", ".*")) for t in panel.get("targets", [])
            ]
    return found


@needs_promtool
def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    assert "SUCCESS: 27 rules found" in promtool("check", "rules", str(ALERTS))
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml", cwd=ALERTS.parent)


@needs_promtool
def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    alerts = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    cases = yaml.safe_load((ALERTS.parent / "alerts_test.yml").read_text())["tests"]
    fired = {t["alertname"] for case in cases for t in case["alert_rule_test"] if t["exp_alerts"]}
    quiet = {t["alertname"] for case in cases for t in case["alert_rule_test"] if not t["exp_alerts"]}
    assert alerts == fired == quiet, "each alert is tested both firing and staying quiet"
    assert alerts >= {
        "ServiceDown",
        "ConsumerLagGrowing",
        "DeadLettersAppearing",
        "OutboxBacklogOld",
        "TimersOverdue",
        "SlaBreachSurge",
        "NotifyDeliveriesFailing",
        "ComplaintSurgeInArea",
        "ComplaintSurgeAtAsset",
        # The disks, the brokers' log directories and replication, Postgres (issue 26).
        "FilesystemAlmostFull",
        "FilesystemFillingUp",
        "KafkaBrokerDown",
        "KafkaOfflineLogDirectory",
        "KafkaUnderReplicatedPartitions",
        "KafkaUnderMinIsrPartitions",
        "KafkaOfflinePartitions",
        "KafkaNoActiveController",
        "PostgresDown",
        "ExporterDown",
        "PostgresConnectionsNearMax",
        "PostgresLongRunningTransaction",
        "PostgresWalArchivingFailing",
        "PostgresReplicationLag",
        "PostgresDeadTuplesPiling",
    }


def test_every_infrastructure_rule_has_a_severity_a_for_and_a_runbook() -> None:
    """Each pages or warns on its own evidence (`for:`), and its runbook entry exists in deploy/README.md."""
    readme = (ROOT / "deploy" / "README.md").read_text()
    (group,) = [g for g in yaml.safe_load(ALERTS.read_text())["groups"] if g["name"] == INFRASTRUCTURE]
    for rule in group["rules"]:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule.get("for"), rule["alert"]
        assert f"**{rule['alert']}**" in readme, f"no runbook entry for {rule['alert']} in deploy/README.md"


@needs_promtool
def test_compose_scrape_config_passes_promtool(tmp_path: Path) -> None:
    config = yaml.safe_load((OBS / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]  # where docker-compose.yml mounts it
    config["rule_files"] = [str(ALERTS)]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert {job["job_name"] for job in config["scrape_configs"]} >= {
        "intake",
        "dispatch",
        "followup",
        "reporting",
        "console",
        "notify",
    }  # each with its port: test_deploy_services.py
    # The exporters, under the job names the infrastructure rules match, at the compose services' ports.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    exporters = {"kafka": ("kafka", 9404), "postgres": ("postgres-exporter", 9187), "node": ("node-exporter", 9100)}
    for job in config["scrape_configs"]:
        if job["job_name"] in exporters:
            (sd,) = job["dns_sd_configs"]
            assert (sd["names"], sd["port"]) == ([exporters[job["job_name"]][0]], exporters[job["job_name"]][1])
            assert exporters.pop(job["job_name"])[0] in compose
    assert not exporters, f"no scrape job for {exporters}"
    assert f"=9404:{_JMX_CONFIG_IN_BROKER}" in compose["kafka"]["environment"]["JAVA_TOOL_OPTIONS"]
    assert f"./deploy/observability/kafka/jmx-exporter.yml:{_JMX_CONFIG_IN_BROKER}:ro" in compose["kafka"]["volumes"]


@needs_promtool
def test_every_dashboard_query_parses_as_promql(tmp_path: Path) -> None:
    """promtool parses each query as the expression of a recording rule."""
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [{"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(_exprs())],
            }
        ]
    }
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    promtool("check", "rules", str(tmp_path / "queries.yml"))


def test_kubernetes_prometheus_rule_carries_the_same_rules() -> None:
    rule = yaml.safe_load((OBS / "k8s" / "prometheusrule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]


def test_dashboards_are_what_grafana_provisioning_accepts() -> None:
    assert {p.stem for p in DASHBOARDS} == {"service-health", "kafka", "complaint-process"}
    uids = [Dashboard.model_validate(json.loads(p.read_text())).uid for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    provisioning = OBS / "grafana" / "provisioning"
    providers = DashboardProvisioning.model_validate(
        yaml.safe_load((provisioning / "dashboards" / "utility-complaints.yml").read_text())
    )
    sources = DataSourceProvisioning.model_validate(
        yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    )
    # The dashboards name the provisioned datasource, and the provider reads the folder compose mounts them in.
    uid = sources.datasources[0].uid
    for path in DASHBOARDS:
        for panel in Dashboard.model_validate(json.loads(path.read_text())).panels:
            assert panel.type == "row" or (panel.datasource is not None and panel.datasource.uid == uid), panel.title
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    assert any(v.endswith(":" + providers.providers[0].options["path"] + ":ro") for v in compose["volumes"])


_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "inf",
    "nan",
    "le",
}


def _metric_names(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    return {n for n in names if n not in _KEYWORDS and not re.fullmatch(r"\d+[smhdwy]?", n)}


def test_every_metric_the_dashboards_and_alerts_name_is_exposed() -> None:
    """The names exist in the registry once the services' metrics modules and the HTTP and FastStream
    instrumentation are loaded: a renamed metric cannot leave a dashboard silently empty."""
    import services.dispatch.metrics
    import services.followup.metrics
    import services.intake.metrics
    import services.notify.metrics
    import services.reporting.metrics  # noqa: F401
    from shared.http.service_app import create_service_app
    from shared.observability.kafka import broker_middlewares

    async def ready(_: object) -> dict[str, object]:
        return {}

    app = create_service_app(title="t", description="t", lifespan=None, readiness=ready)
    app.build_middleware_stack()  # the HTTP instrumentation registers its metrics when the stack is built
    broker_middlewares("names-check")
    exposed = set(REGISTRY._names_to_collectors) | {"up"}
    missing = {(where, n) for where, expr in _exprs() for n in _metric_names(expr) if n not in exposed}
    assert not missing, sorted(missing)


def test_every_metric_the_infrastructure_rules_name_is_one_the_pinned_exporters_publish() -> None:
    """Against scrapes recorded from the versions docker-compose.yml pins (exporter_scrapes/, each file saying how it
    was made): a metric renamed by an exporter upgrade, or mistyped in a rule, would leave an alert that never fires."""
    published = {"up"} | {
        line.split()[2] for path in SCRAPES for line in path.read_text().splitlines() if line.startswith("# TYPE ")
    }
    named = {(where, n) for where, expr in _alert_exprs(infrastructure=True) for n in _metric_names(expr)}
    assert {n for _, n in named} >= {"node_filesystem_avail_bytes", "kafka_log_logmanager_offlinelogdirectorycount"}
    assert not {(where, n) for where, n in named if n not in published}, sorted(named)
    # Each recording is of the version deployed: compose's images, the agent the Dockerfile fetches.
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {p.name for p in SCRAPES} == {
        "postgres_exporter-0.17.1.prom",
        "node_exporter-1.9.1.prom",
        "jmx_prometheus_javaagent-1.0.1_kafka-4.1.1.prom",
    }
    assert services["postgres-exporter"]["image"].endswith("/postgres-exporter:v0.17.1")
    assert services["node-exporter"]["image"].endswith("/node-exporter:v1.9.1")
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "/jmx_prometheus_javaagent/1.0.1/jmx_prometheus_javaagent-1.0.1.jar" in dockerfile
