"""deploy/kubernetes/: every manifest valid against the Kubernetes schemas (kubernetes-validate,
which bundles them: no cluster, no network), and consistent with the service it runs: probes on
the endpoint's paths and port, the image's user, a grace period the service fits in, settings
that validate, secrets mounted where the *_FILE settings look."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from syncer.config.settings import Settings
from syncer.config.sources import FILE_FIELDS
from tests.container import dockerfile_stages

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes still commonly run, and the newest the package knows.
VERSIONS = ["1.27.0", kubernetes_validate.latest_version()]


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def resources() -> list[Path]:
    return sorted(p for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml")


def kind(name: str) -> dict[str, Any]:
    found = [d for p in resources() for d in documents(p) if d["kind"] == name]
    assert len(found) == 1, f"{len(found)} {name}s"
    return found[0]


def config_map() -> dict[str, str]:
    data = kind("ConfigMap")["data"]
    assert all(isinstance(v, str) for v in data.values())  # a ConfigMap holds strings only
    return dict(data)


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def image_user() -> int:
    user = dockerfile_stages()[-1].last("USER")
    assert user is not None
    return int(user.split(":")[0])


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", resources(), ids=lambda p: p.name)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(path: Path, version: str) -> None:
    for doc in documents(path):
        # strict: a misspelt or misplaced field is an error, not silently ignored.
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_rejects_what_kubernetes_would() -> None:
    bad = kind("Deployment")
    bad["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, VERSIONS[0], strict=True)


def test_kustomization_applies_every_manifest_with_the_image_it_names() -> None:
    (kustomization,) = documents(MANIFESTS / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(p.name for p in resources())
    (image,) = kustomization["images"]
    for workload in (kind("Deployment"), kind("Job")):
        assert container(workload)["image"].split(":")[0] == image["name"]
    assert kustomization["namespace"] == kind("Namespace")["metadata"]["name"]


def test_the_deployment_runs_the_service_with_probes_on_its_endpoint() -> None:
    deployment = kind("Deployment")
    syncer = container(deployment)
    assert syncer["command"] == ["syncer", "run"]
    settings = config_map()
    port = int(settings["SYNCER_HEALTH_PORT"])
    assert settings["SYNCER_HEALTH_HOST"] == "0.0.0.0"  # reachable from the kubelet
    (declared,) = syncer["ports"]
    assert declared["containerPort"] == port
    probes = {name: syncer[name]["httpGet"] for name in
              ("livenessProbe", "readinessProbe", "startupProbe")}  # fmt: skip
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert all(p["port"] in (port, declared["name"]) for p in probes.values())


def test_the_pods_outlive_the_services_own_shutdown() -> None:
    grace = float(config_map()["SYNCER_SHUTDOWN_GRACE_SECONDS"])
    pod = kind("Deployment")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > grace


@pytest.mark.parametrize("name", ["Deployment", "Job"])
def test_pods_run_as_the_images_user_with_nothing_writable_or_privileged(name: str) -> None:
    workload = kind(name)
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_user()
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    c = container(workload)
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    limits, requests = c["resources"]["limits"], c["resources"]["requests"]
    assert set(limits) == set(requests) == {"cpu", "memory"}
    assert {m["mountPath"] for m in c["volumeMounts"]} >= {"/tmp"}


def test_the_migration_job_upgrades_the_schema_with_the_same_image_and_settings() -> None:
    job, deployment = container(kind("Job")), container(kind("Deployment"))
    assert job["command"] == ["syncer", "db", "upgrade"]
    assert job["image"] == deployment["image"]
    assert job["envFrom"] == deployment["envFrom"]
    assert job["volumeMounts"] == deployment["volumeMounts"]


@pytest.mark.parametrize("name", ["Deployment", "Job"])
def test_every_secret_is_a_mounted_file_a_file_setting_names(name: str) -> None:
    workload = kind(name)
    secret = kind("Secret")
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    mounts = [m for m in container(workload)["volumeMounts"] if "secret" in volumes[m["name"]]]
    (mount,) = mounts
    assert volumes[mount["name"]]["secret"]["secretName"] == secret["metadata"]["name"]
    files = {f"{mount['mountPath']}/{key}" for key in secret["stringData"]}
    named = {v for k, v in config_map().items() if k.endswith("_FILE")}
    assert named == files
    assert {k.removeprefix("SYNCER_").removesuffix("_FILE").lower() for k, v in
            config_map().items() if k.endswith("_FILE")} == set(FILE_FIELDS)  # fmt: skip


def test_the_example_secret_holds_placeholders_only() -> None:
    for key, value in kind("Secret")["stringData"].items():
        assert "CHANGE-ME" in value, key


def test_the_settings_validate_as_the_service_reads_them() -> None:
    values = {k: v for k, v in config_map().items() if not k.endswith("_FILE")}
    for key in values:
        assert key.startswith("SYNCER_"), key
    settings = Settings(**{k.removeprefix("SYNCER_").lower(): v for k, v in values.items()})
    assert settings.accounts and settings.api_client_id


def test_the_metrics_service_carries_the_prometheus_scrape_annotations() -> None:
    service = kind("Service")
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    port = int(config_map()["SYNCER_HEALTH_PORT"])
    assert int(annotations["prometheus.io/port"]) == port
    (svc_port,) = service["spec"]["ports"]
    syncer = container(kind("Deployment"))
    assert svc_port["targetPort"] in (port, syncer["ports"][0]["name"])
    assert (
        service["spec"]["selector"].items()
        <= kind("Deployment")["spec"]["template"]["metadata"]["labels"].items()
    )
