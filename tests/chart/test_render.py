"""What `helm lint` and `helm template` show a user about charts/euglena."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from charting import (
    CHART,
    CI_VALUES,
    MODEL_VALUES,
    RELEASE,
    HelmError,
    Obj,
    Render,
    find,
    load_yaml,
    one,
    pod_spec,
    run_helm,
)

pytestmark = pytest.mark.unit

SERVICES = ("gateway", "agent", "operator")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


def test_helm_lint_is_clean(helm: Path) -> None:
    out = run_helm(helm, "lint", str(CHART), "--strict", "-f", str(MODEL_VALUES))
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out and "[ERROR]" not in out, out


def test_without_a_model_url_the_chart_refuses_to_render(helm: Path) -> None:
    with pytest.raises(HelmError) as refused:
        run_helm(helm, "template", RELEASE, str(CHART))
    assert "agent.model.apiUrl is not set" in str(refused.value)
    assert "agent.model.offline=true" in str(refused.value)
    with pytest.raises(HelmError, match="choose the model or the offline stand-in"):
        run_helm(helm, "template", RELEASE, str(CHART), "-f", str(MODEL_VALUES),
                 "--set", "agent.model.offline=true")  # fmt: skip


def test_agents_get_the_model_settings_and_notes_name_the_model(
    helm: Path, render: Render, tmp_path: Path
) -> None:
    values = tmp_path / "model.yaml"
    values.write_text(
        "agent:\n  model:\n    name: qwen3\n    temperature: 0.2\n"
        "    extraBody: {reasoning_effort: low}\n"
    )
    config = one(render(values), "ConfigMap", "config")["data"]
    assert config["MODEL_API_URL"] == "http://llm.models.svc:8000/v1"
    assert config["MODEL_NAME"] == "qwen3" and config["MODEL_OFFLINE"] == "false"
    assert config["MODEL_TEMPERATURE"] == "0.2"
    assert json.loads(config["MODEL_EXTRA_BODY"]) == {"reasoning_effort": "low"}
    assert "MODEL_MAX_TOKENS" not in config  # unset: the server's default
    notes = run_helm(helm, "install", RELEASE, str(CHART), "--dry-run=client",
                     "-f", str(MODEL_VALUES), "--set", "agent.model.name=qwen3")  # fmt: skip
    assert 'Agents use the model "qwen3" at http://llm.models.svc:8000/v1' in notes
    offline = run_helm(helm, "install", RELEASE, str(CHART), "--dry-run=client",
                       "--set", "agent.model.offline=true")  # fmt: skip
    assert "OFFLINE STAND-IN" in offline


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_ci_scenario_lints_and_renders(helm: Path, render: Render, values: Path) -> None:
    run_helm(helm, "lint", str(CHART), "--strict", "-f", str(values))
    objects = render(values)
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert labels.get("app.kubernetes.io/instance") == RELEASE, where
        assert labels.get("app.kubernetes.io/name") == "euglena", where
        assert labels.get("app.kubernetes.io/component"), where
        assert len(obj["metadata"]["name"]) <= 63, where


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_every_pod_runs_restricted(render: Render, values: Path) -> None:
    for workload in [o for kind in WORKLOAD_KINDS for o in find(render(values), kind)]:
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in spec["containers"] + spec.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"] == {"drop": ["ALL"]}, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert container["resources"]["requests"], where
            assert "memory" in container["resources"]["limits"], where


def test_services_have_probes_and_roll_on_config_changes(render: Render) -> None:
    objects = render()
    for component in SERVICES:
        deployment = one(objects, "Deployment", component)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["checksum/config"] and annotations["checksum/secret"], component
        container = pod_spec(deployment)["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] in {"/health", "/healthz"}
    gateway = pod_spec(one(objects, "Deployment", "gateway"))["containers"][0]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


def test_a_changed_secret_rolls_the_pods(render: Render) -> None:
    def checksum() -> str:
        gateway = one(objects, "Deployment", "gateway")
        return str(gateway["spec"]["template"]["metadata"]["annotations"]["checksum/secret"])

    objects = render()
    before = checksum()
    objects = render(set_values={"secrets.databaseUrl": "postgresql://db/other"})
    assert checksum() != before


def test_ports_match_the_contract(render: Render) -> None:
    objects = render()
    ports = {
        component: {
            p["name"]: p["containerPort"]
            for p in pod_spec(one(objects, "Deployment", component))["containers"][0]["ports"]
        }
        for component in SERVICES
    }
    assert ports == {
        "gateway": {"http": 8000},
        "agent": {"metrics": 8081},
        "operator": {"health": 8080, "metrics": 8081},
    }
    service = one(objects, "Service", "gateway")
    assert service["spec"]["ports"][0]["port"] == 8000


def test_agents_get_no_credentials_beyond_their_own(render: Render) -> None:
    objects = render()
    spec = pod_spec(one(objects, "Deployment", "agent"))
    assert spec["automountServiceAccountToken"] is False
    sa = find(objects, "ServiceAccount", "agent")
    assert sa and sa[0]["automountServiceAccountToken"] is False
    env = {e["name"] for e in spec["containers"][0]["env"]}
    assert not env & {"DATABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET"}
    config = one(objects, "ConfigMap", "config")["data"]
    assert "DATABASE_URL" not in config


def test_agent_replicas_belong_to_the_agentpool(render: Render) -> None:
    objects = render()
    deployment = one(objects, "Deployment", "agent")
    assert "replicas" not in deployment["spec"], "an upgrade would reset the operator's scale"
    pool = one(objects, "AgentPool")
    assert pool["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    fixed = render(CHART / "ci" / "fixed-replicas-values.yaml")
    assert one(fixed, "Deployment", "agent")["spec"]["replicas"] == 3
    assert not find(fixed, "AgentPool")


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_agents_outlive_their_task_timeout(render: Render, values: Path) -> None:
    objects = render(values)
    spec = pod_spec(one(objects, "Deployment", "agent"))
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert spec["terminationGracePeriodSeconds"] > float(env["TASK_TIMEOUT_SECONDS"])


def test_operator_runs_one_replica_recreated(render: Render) -> None:
    deployment = one(render(), "Deployment", "operator")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_operator_rbac_is_the_operators_own(render: Render) -> None:
    source = load_yaml(CHART.parents[1] / "operator" / "rbac" / "clusterrole.yaml")
    cluster = render()
    assert one(cluster, "ClusterRole")["rules"] == source["rules"]
    binding = one(cluster, "ClusterRoleBinding")
    assert (
        binding["subjects"][0]["name"]
        == one(cluster, "Deployment", "operator")["spec"]["template"]["spec"]["serviceAccountName"]
    )
    namespaced = render(set_values={"operator.namespaced": "true"})
    assert not find(namespaced, "ClusterRole")
    assert one(namespaced, "Role")["rules"] == source["rules"]
    env = pod_spec(one(namespaced, "Deployment", "operator"))["containers"][0]["env"]
    assert {"name": "WATCH_NAMESPACES", "value": "euglena"} in env


def test_chart_rbac_template_keeps_the_framework_and_application_comments() -> None:
    template = (CHART / "templates" / "operator-rbac.yaml").read_text()
    assert "# Framework:" in template and "# Application:" in template


def test_in_chart_services_can_be_replaced_by_external_ones(render: Render) -> None:
    objects = render(CHART / "ci" / "external-services-values.yaml")
    assert not find(objects, "StatefulSet")
    secret = one(objects, "Secret", "secrets")["stringData"]
    assert secret["REDIS_URL"].startswith("rediss://")
    assert secret["RABBITMQ_URL"].startswith("amqps://")
    assert one(objects, "ConfigMap", "config")["data"]["CHROMA_URL"] == "https://chroma.example.com"


def test_existing_secret_is_used_and_none_created(render: Render) -> None:
    objects = render(CHART / "ci" / "existing-secret-values.yaml")
    assert not find(objects, "Secret", "secrets")
    env = pod_spec(one(objects, "Deployment", "gateway"))["containers"][0]["env"]
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in env
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs == {"euglena-credentials", "euglena-rabbitmq-credentials"}


def test_self_contained_install_has_redis_rabbitmq_and_chroma(render: Render) -> None:
    objects = render()
    assert {
        s["metadata"]["labels"]["app.kubernetes.io/component"] for s in find(objects, "StatefulSet")
    } == {"redis", "rabbitmq", "chroma"}
    plugins = one(objects, "ConfigMap", "rabbitmq")["data"]["enabled_plugins"]
    assert "rabbitmq_management" in plugins


def test_monitoring_objects_need_the_prometheus_operator(render: Render) -> None:
    kinds = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert not {o["kind"] for o in render()} & kinds
    objects = render(api_versions=["monitoring.coreos.com/v1"])
    assert {o["kind"] for o in objects} >= kinds
    pod_monitors = {
        m["metadata"]["labels"]["app.kubernetes.io/component"] for m in find(objects, "PodMonitor")
    }
    assert pod_monitors == {"agent", "operator"}
    alerts = {
        r["alert"] for g in one(objects, "PrometheusRule")["spec"]["groups"] for r in g["rules"]
    }
    assert alerts == {
        "EuglenaQueueBacklogGrowing",
        "EuglenaNoWorkersForQueuedWork",
        "EuglenaTaskFailureRatioHigh",
        "EuglenaGatewayErrorRatioHigh",
        "EuglenaOperatorErrors",
    }


def test_dashboards_ship_as_configmaps_for_the_grafana_sidecar(render: Render) -> None:
    configmaps = find(render(), "ConfigMap", "dashboards")
    shipped: dict[str, Obj] = {}
    for cm in configmaps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        for name, text in cm["data"].items():
            shipped[name] = json.loads(text)
    assert sorted(shipped) == sorted(p.name for p in (CHART / "dashboards").glob("*.json"))
    assert {d["title"] for d in shipped.values()} >= {"Euglena / Overview"}
    assert len(shipped) == 4


def test_notes_tell_how_to_reach_the_gateway(helm: Path) -> None:
    out = run_helm(helm, "install", RELEASE, str(CHART), "--dry-run=client", "-n", "euglena",
                   "-f", str(MODEL_VALUES))  # fmt: skip
    assert "port-forward svc/euglena-gateway 8000:8000" in out
    assert "kubectl apply --server-side -f <chart>/crds/" in out
