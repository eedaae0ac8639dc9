"""Worker isolation as the rendered NetworkPolicy enforces it: agents reach RabbitMQ, Redis,
ChromaDB, DNS and the internet, never Postgres/Supabase nor the Kubernetes API.

The policy is evaluated the way a CNI does (rules and peers are a union; an ipBlock allows its
CIDR minus `except`; a rule without `to` allows every destination on its ports), for concrete
destinations a user cares about.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from charting import CHART, CI_VALUES, Obj, Render, find, one

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Destination:
    what: str
    port: int
    ip: str | None = None
    pod_labels: dict[str, str] = field(default_factory=dict)


def _port_matches(rule: Obj, port: int) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("port") in (port, None) for p in ports)


def _peer_matches(peer: Obj, dest: Destination) -> bool:
    if "ipBlock" in peer:
        if dest.ip is None:
            return False
        ip = ipaddress.ip_address(dest.ip)
        block = peer["ipBlock"]
        if ip not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(ip in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    selector = peer.get("podSelector", {}).get("matchLabels", {})
    return bool(dest.pod_labels) and all(dest.pod_labels.get(k) == v for k, v in selector.items())


def egress_allows(policy: Obj, dest: Destination) -> bool:
    for rule in policy["spec"].get("egress", []):
        if not _port_matches(rule, dest.port):
            continue
        peers = rule.get("to")
        if not peers or any(_peer_matches(peer, dest) for peer in peers):
            return True
    return False


def _component(name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "euglena",
        "app.kubernetes.io/instance": "euglena",
        "app.kubernetes.io/component": name,
    }


FORBIDDEN = [
    Destination("in-cluster Postgres pod", 5432, "10.244.1.17", {"app": "postgresql"}),
    Destination("Postgres behind a ClusterIP", 5432, "10.96.14.2"),
    Destination("Supabase pooler on 6543", 6543, "172.20.0.5"),
    Destination("the Kubernetes API Service", 443, "10.96.0.1"),
    Destination("the API server endpoint", 6443, "192.168.49.2"),
    Destination("cloud metadata", 80, "169.254.169.254"),
    Destination("the gateway", 8000, "10.244.0.9", _component("gateway")),
]
ALLOWED = [
    Destination("RabbitMQ", 5672, "10.244.2.3", _component("rabbitmq")),
    Destination("Redis", 6379, "10.244.2.4", _component("redis")),
    Destination("ChromaDB", 8000, "10.244.2.5", _component("chroma")),
    Destination("DNS", 53, "10.96.0.10"),
    Destination("an LLM API on the internet", 443, "104.18.6.192"),
    Destination("a web page over plain HTTP", 80, "93.184.215.14"),
]


def agent_policy(objects: list[Obj]) -> Obj:
    policy = one(objects, "NetworkPolicy", "agent")
    deployment = one(objects, "Deployment", "agent")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert all(pod_labels.get(k) == v for k, v in selector.items()), "policy misses the agents"
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    return policy


@pytest.mark.parametrize("dest", FORBIDDEN, ids=lambda d: d.what)
def test_agents_cannot_reach(render: Render, dest: Destination) -> None:
    assert not egress_allows(agent_policy(render()), dest)


@pytest.mark.parametrize("dest", ALLOWED, ids=lambda d: d.what)
def test_agents_can_reach(render: Render, dest: Destination) -> None:
    assert egress_allows(agent_policy(render()), dest)


def test_public_supabase_database_is_cut_out_of_the_internet(render: Render) -> None:
    objects = render(CHART / "ci" / "external-services-values.yaml")
    policy = agent_policy(objects)
    supabase_db = Destination("Supabase's public Postgres", 5432, "203.0.113.10")
    assert not egress_allows(policy, supabase_db)
    assert not egress_allows(policy, Destination("same range", 5432, "198.51.100.77"))
    assert egress_allows(policy, Destination("another public host", 5432, "203.0.113.11"))
    assert egress_allows(policy, Destination("managed Redis", 6380, "10.20.3.4"))


@pytest.mark.parametrize(
    "values", [v for v in CI_VALUES if "fixed-replicas" not in v.name], ids=lambda p: p.name
)
def test_no_scenario_lets_agents_reach_postgres(render: Render, values: Path) -> None:
    policy = agent_policy(render(values))
    for dest in FORBIDDEN[:4]:
        assert not egress_allows(policy, dest), f"{values.name}: {dest.what}"


def test_in_chart_services_accept_only_the_release(render: Render) -> None:
    objects = render()
    for name in ("redis", "rabbitmq", "chroma"):
        policy = one(objects, "NetworkPolicy", name)
        peers = policy["spec"]["ingress"][0]["from"]
        assert peers == [
            {
                "podSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/name": "euglena",
                        "app.kubernetes.io/instance": "euglena",
                    }
                }
            }
        ]


def test_policy_can_be_switched_off(render: Render) -> None:
    objects = render(CHART / "ci" / "fixed-replicas-values.yaml")
    assert not find(objects, "NetworkPolicy", "agent")
