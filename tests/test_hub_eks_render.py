"""The jupyterhub role's EKS backend, checked without a cluster.

playbooks/hub.yml renders three sites (tests/fixtures/hub-site plus variants); for each, the values
merged over the chart's defaults must pass the chart's own schema (zero-to-jupyterhub 4.4.0,
Draft 7), the manifests and every profile's pod (rendered by the real KubeSpawner) must pass
kubernetes-validate --strict, and the hub configuration must load in the real JupyterHub,
KubeSpawner and authenticator without an unrecognised or deprecated option.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from hub_eks import (
    ROOT,
    Rendered,
    chart_defaults,
    chart_schema,
    helm_merge,
    hub_config,
    load_hub,
    merged_values,
    render,
)
from kube_validate import kubernetes_validate
from moto import mock_aws
from tornado import web

KUBERNETES_VERSION = "1.33.0"  # the cluster stage's eks_cluster_version
ACM_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
COOKIE_SECRET = "ab" * 32
PROXY_TOKEN = "cd" * 32
OAUTH_SECRET = "oauth-client-secret-never-logged"
COST_CAP_PARAMETER = "/sciplat/unit/cost-cap"
HUB_ROLE_ARN = "arn:aws:iam::123456789012:role/unit-hub"
DUMMY_PASSWORD = "dummy-password-not-secret"  # tests/fixtures/hub-site/group_vars/all/hub.yml

VARIANTS: dict[str, dict[str, Any]] = {
    "dummy": {"jupyterhub_eks_image_check": False},
    "github-acm": {
        "jupyterhub_authenticator": "github",
        "jupyterhub_oauth_client_id": "gh-client-id",
        "jupyterhub_oauth_client_secret": OAUTH_SECRET,
        "jupyterhub_allowed_groups": ["spacetelescope"],
        "jupyterhub_admin_users": ["ops-admin"],
        "jupyterhub_hostname": "hub.example.org",
        "jupyterhub_https": "acm",
        "jupyterhub_https_acm_certificate_arn": ACM_ARN,
        "jupyterhub_cookie_secret": COOKIE_SECRET,
        "jupyterhub_proxy_token": PROXY_TOKEN,
        "jupyterhub_culler_max_age": 28800,
        "jupyterhub_eks_user_placeholder_replicas": 0,
    },
    "cilogon-letsencrypt": {
        "jupyterhub_authenticator": "generic_oauth",
        "jupyterhub_oauth_client_id": "cilogon:/client_id/1234",
        "jupyterhub_oauth_client_secret": OAUTH_SECRET,
        "jupyterhub_oauth_authorize_url": "https://cilogon.org/authorize",
        "jupyterhub_oauth_token_url": "https://cilogon.org/oauth2/token",
        "jupyterhub_oauth_userdata_url": "https://cilogon.org/oauth2/userinfo",
        "jupyterhub_oauth_username_claim": "email",
        "jupyterhub_oauth_groups_claim": "isMemberOf",
        "jupyterhub_oauth_scopes": ["openid", "email", "org.cilogon.userinfo"],
        "jupyterhub_allowed_groups": ["CO:COU:astro:members:active"],
        "jupyterhub_hostname": "hub.example.org",
        "jupyterhub_https": "letsencrypt",
        "jupyterhub_https_letsencrypt_email": "ops@example.org",
        "jupyterhub_eks_network_policy_enabled": True,
    },
    "quotas": {
        "jupyterhub_groups": {"staff": ["alice"]},
        "jupyterhub_quota_enabled": True,
        "jupyterhub_quota_default": "10G",
        "jupyterhub_quota_groups": {"staff": "50G"},
        "jupyterhub_quota_users": {"bob": "100G"},
        "jupyterhub_quota_help": "Use the SFTP gateway sftp.example.org.",
        "jupyterhub_cost_cap_parameter": COST_CAP_PARAMETER,
        "jupyterhub_cost_cap_region": "us-east-1",
        "jupyterhub_cost_cap_contact": "ops@example.org",
        "jupyterhub_eks_hub_iam_role_arn": HUB_ROLE_ARN,
    },
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Rendered]:
    rendered = render(tmp_path_factory.mktemp(request.param), VARIANTS[request.param])
    assert rendered.run.returncode == 0, rendered.run.output[-4000:]
    return request.param, rendered


@pytest.fixture(scope="module")
def loaded(site: tuple[str, Rendered]) -> tuple[dict[str, Any], list[str], dict[str, dict[str, Any]]]:
    values = merged_values(site[1])
    problems, pods = load_hub(hub_config(values))
    return values, problems, pods


def test_merged_values_pass_the_chart_schema(site: tuple[str, Rendered]) -> None:
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(chart_schema()).iter_errors(merged_values(site[1]))
    ]
    assert errors == []


def test_schema_check_can_fail() -> None:
    """The same check refuses a value the chart does not know (so the test above can fail)."""
    bad = helm_merge(chart_defaults(), {"singleuser": {"storage": {"static": {"subpath": "{username}"}}}})
    assert list(jsonschema.Draft7Validator(chart_schema()).iter_errors(bad))


def test_hub_config_loads_without_unknown_options(
    loaded: tuple[dict[str, Any], list[str], dict[str, Any]],
) -> None:
    _, problems, pods = loaded
    assert problems == []
    assert set(pods) == {"scipy", "astro"}


def test_hub_config_check_can_fail(loaded: tuple[dict[str, Any], list[str], dict[str, Any]]) -> None:
    values = helm_merge(
        loaded[0], {"hub": {"config": {"KubeSpawner": {"cpu_limt": 2}, "NoSuchAuthenticator": {"x": 1}}}}
    )
    problems, _ = load_hub(hub_config(values))
    assert any("cpu_limt" in p and "not recognized" in p for p in problems), problems
    assert any("NoSuchAuthenticator" in p for p in problems), problems


def test_manifests_and_user_pods_pass_kubernetes_validate(
    site: tuple[str, Rendered], loaded: tuple[dict[str, Any], list[str], dict[str, Any]], tmp_path: Path
) -> None:
    pods = []
    for slug, pod in loaded[2].items():
        path = tmp_path / f"pod-{slug}.yaml"
        path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", **pod}))
        pods.append(path)
    manifests = site[1].manifests
    assert [p.name for p in manifests] == [
        "limitrange.yaml",
        "namespace.yaml",
        "resourcequota.yaml",
        "storageclass-hub-db.yaml",
    ]
    result = kubernetes_validate("--strict", "-k", KUBERNETES_VERSION, *map(str, manifests + pods))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(manifests) + len(pods), result.stdout


def quantities_as_strings(value: Any, key: str = "") -> Any:
    """KubeSpawner writes byte counts as numbers; the API takes quantities as strings too."""
    if isinstance(value, dict):
        return {k: quantities_as_strings(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [quantities_as_strings(v) for v in value]
    return (
        str(value)
        if key in ("cpu", "memory", "ephemeral-storage") and isinstance(value, int | float)
        else value
    )


def test_manifests_are_admitted_and_user_pods_fit_the_namespace_limits(
    site: tuple[str, Rendered], loaded: tuple[dict[str, Any], list[str], dict[str, Any]], api_server: Any
) -> None:
    """The namespace, its quota and limits and the hub database's StorageClass are created on a real
    API server; every profile's user pod passes its admission (LimitRanger, ResourceQuota) in a
    server-side dry run (no node runs them here)."""
    from kubernetes import utils
    from kubernetes.client.exceptions import ApiException

    client, api_client, _ = api_server
    namespace = site[1].manifest("namespace")["metadata"]["name"]
    core = client.CoreV1Api(api_client)
    for path in [p for p in site[1].manifests if p.name == "namespace.yaml"] + [
        p for p in site[1].manifests if p.name != "namespace.yaml"
    ]:
        try:
            utils.create_from_yaml(api_client, str(path), namespace=namespace)
        except utils.FailToCreateError as error:
            if not all(e.status == 409 for e in error.api_exceptions):  # the other variant made it
                raise
    assert core.read_namespaced_resource_quota(
        site[1].manifest("resourcequota")["metadata"]["name"], namespace
    ).spec.hard
    deadline = time.monotonic() + 60  # the controller manager gives a new namespace its service account
    while not core.list_namespaced_service_account(namespace, field_selector="metadata.name=default").items:
        assert time.monotonic() < deadline, f"namespace {namespace} got no default service account"
        time.sleep(0.5)
    # The chart's own objects the pods name (scheduling.podPriority): helm would have made them.
    scheduling = client.SchedulingV1Api(api_client)
    for name in {pod["spec"].get("priorityClassName") for pod in loaded[2].values()} - {None}:
        with contextlib.suppress(ApiException):
            scheduling.create_priority_class({"metadata": {"name": name}, "value": 0})
    for slug, pod in loaded[2].items():
        body = quantities_as_strings({"apiVersion": "v1", "kind": "Pod", **pod})
        body["metadata"] = {**body.get("metadata", {}), "name": f"dry-{slug}"[:60], "namespace": namespace}
        # The Priority admission plugin reads PriorityClasses from its informer's cache, which learns of
        # the classes just made a moment later: only that refusal is waited out.
        deadline = time.monotonic() + 30
        while True:
            try:
                core.create_namespaced_pod(namespace, body, dry_run="All")
                break
            except ApiException as error:
                if "no PriorityClass with name" in str(error.body) and time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                pytest.fail(f"profile {slug}: the API server refused its pod: {error.body}")
    too_big = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "too-big"},
        "spec": {
            "containers": [
                {"name": "c", "image": "x", "resources": {"limits": {"cpu": "64", "memory": "1Ti"}}}
            ]
        },
    }
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(namespace, too_big, dry_run="All")
    assert refused.value.status == 403 and "maximum" in refused.value.body


def test_user_pods_run_as_the_user_with_their_profile(
    loaded: tuple[dict[str, Any], list[str], dict[str, Any]],
) -> None:
    _, _, pods = loaded
    expected = {"scipy": (0.5, 2.0, 2**30, 4 * 2**30), "astro": (1.0, 4.0, 2 * 2**30, 8 * 2**30)}
    for slug, pod in pods.items():
        notebook = next(c for c in pod["spec"]["containers"] if c["name"] == "notebook")
        assert notebook["securityContext"]["runAsUser"] == 1000
        assert notebook["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["spec"]["securityContext"]["fsGroup"] == 100
        cpu_g, cpu_l, mem_g, mem_l = expected[slug]
        assert notebook["resources"]["requests"] == {"cpu": cpu_g, "memory": mem_g}
        assert notebook["resources"]["limits"] == {"cpu": cpu_l, "memory": mem_l}
        assert notebook["image"].startswith("quay.io/jupyter/scipy-notebook")
        # Home: the storage stage's EFS claim, one subdirectory per user.
        assert {"name": "home", "persistentVolumeClaim": {"claimName": "homes"}} in pod["spec"]["volumes"]
        home = next(m for m in notebook["volumeMounts"] if m["name"] == "home")
        assert home["mountPath"] == "/home/jovyan"
        assert home["subPath"].startswith("mock-name")  # KubeSpawner's escaped {username}
        # The user node group.
        assert pod["spec"]["nodeSelector"] == {"hub.jupyter.org/node-purpose": "user"}
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"][0]["matchExpressions"][0]["key"] == "hub.jupyter.org/node-purpose"
        assert pod["spec"]["schedulerName"] == "jupyterhub-user-scheduler"
        # Only the chart's iptables init container (cloud metadata block) runs as root, and exits.
        init = pod["spec"].get("initContainers", [])
        assert [c["name"] for c in init] == ["block-cloud-metadata"]
        assert "169.254.169.254" in init[0]["command"]


def test_profiles_and_default(site: tuple[str, Rendered]) -> None:
    values = site[1].values
    profiles = values["singleuser"]["profileList"]
    assert [p["slug"] for p in profiles] == ["scipy", "astro"]
    assert [p["default"] for p in profiles] == [False, True]
    # The default profile's image is also the chart's singleuser image (pre-pulled), digest intact.
    image = values["singleuser"]["image"]
    assert f"{image['name']}:{image['tag']}" == profiles[1]["kubespawner_override"]["image"]
    assert values["prePuller"]["continuous"]["enabled"] is True
    assert values["prePuller"]["hook"]["enabled"] is True


def test_culler_service_carries_timeout_and_max_age(
    site: tuple[str, Rendered], loaded: tuple[dict[str, Any], list[str], dict[str, Any]]
) -> None:
    command = next(
        s for s in hub_config(loaded[0]).JupyterHub.services if s["name"] == "jupyterhub-idle-culler"
    )["command"]
    assert "--timeout=3600" in command
    assert "--cull-every=300" in command
    max_age = VARIANTS[site[0]].get("jupyterhub_culler_max_age", 0)
    assert (f"--max-age={max_age}" in command) == bool(max_age)


def test_hub_database_volume_is_tagged_for_the_backup_plan(site: tuple[str, Rendered]) -> None:
    rendered = site[1]
    storage_class = rendered.manifest("storageclass-hub-db")
    assert rendered.values["hub"]["db"]["pvc"]["storageClassName"] == storage_class["metadata"]["name"]
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"]["encrypted"] == "true"
    assert storage_class["reclaimPolicy"] == "Retain"
    tags = [v for k, v in storage_class["parameters"].items() if k.startswith("tagSpecification_")]
    # What the backup stage's selection looks for (backup_selection_tags: {Backup: <site>}).
    assert "Backup=hubtest" in tags


def test_namespace_compute_ceiling(site: tuple[str, Rendered]) -> None:
    quota = site[1].manifest("resourcequota")["spec"]["hard"]
    assert quota["limits.cpu"] == "64"
    assert quota["limits.memory"] == "256Gi"
    limits = site[1].manifest("limitrange")["spec"]["limits"][0]
    # The largest profile (astro: 4 cores, 8G = 8 GiB as KubeSpawner reads it) fits under max.
    assert limits["max"] == {"cpu": "4000m", "memory": str(8 * 2**30)}
    assert limits["default"] == {"cpu": "1", "memory": "1Gi"}


def test_network_policy_and_metadata_block(site: tuple[str, Rendered]) -> None:
    values = site[1].values
    assert values["singleuser"]["cloudMetadata"]["blockWithIptables"] is True
    assert values["singleuser"]["networkPolicy"]["enabled"] is True
    assert values["singleuser"]["networkPolicy"]["egressAllowRules"]["cloudMetadataServer"] is False
    assert values["hub"]["networkPolicy"]["enabled"] is True
    assert values["proxy"]["chp"]["networkPolicy"]["enabled"] is True


def test_authentication_and_https(site: tuple[str, Rendered]) -> None:
    name, rendered = site
    config = rendered.values["hub"]["config"]
    if name == "dummy":
        assert config["JupyterHub"]["authenticator_class"] == "shared-password"
        assert config["Authenticator"]["allow_all"] is True
        assert "https" not in rendered.values.get("proxy", {})
    elif name == "github-acm":
        assert config["JupyterHub"]["authenticator_class"] == "github"
        assert config["GitHubOAuthenticator"]["allowed_organizations"] == ["spacetelescope"]
        assert (
            config["GitHubOAuthenticator"]["oauth_callback_url"]
            == "https://hub.example.org/hub/oauth_callback"
        )
        assert "allow_all" not in config["Authenticator"]
        assert rendered.values["proxy"]["https"] == {"enabled": True, "type": "offload"}
        annotations = rendered.values["proxy"]["service"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == ACM_ARN
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] == "https"
        assert "hub: https://hub.example.org/" in rendered.run.output
    elif name == "cilogon-letsencrypt":
        generic = config["GenericOAuthenticator"]
        assert config["JupyterHub"]["authenticator_class"] == "generic-oauth"
        assert generic["allowed_groups"] == ["CO:COU:astro:members:active"]
        assert generic["auth_state_groups_key"] == "oauth_user.isMemberOf"
        assert rendered.values["proxy"]["https"]["type"] == "letsencrypt"
        assert rendered.values["proxy"]["https"]["hosts"] == ["hub.example.org"]


def test_secrets_only_in_the_private_values_file(site: tuple[str, Rendered]) -> None:
    name, rendered = site
    secrets = {"dummy": [DUMMY_PASSWORD], "quotas": [DUMMY_PASSWORD]}.get(name, [OAUTH_SECRET])
    if name == "github-acm":
        secrets += [COOKIE_SECRET, PROXY_TOKEN]
    public = (rendered.out / "values.yaml").read_text()
    private, release = rendered.out / "secret-values.yaml", rendered.out / "release-values.yaml"
    for path in (private, release):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # What helm gets: both files merged, nested keys of each kept.
    assert yaml.safe_load(release.read_text()) == helm_merge(rendered.values, rendered.secret_values)
    for secret in secrets:
        assert secret not in public
        assert secret in private.read_text()
        assert secret not in rendered.run.output, "a secret was logged"


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    first = render(tmp_path)
    assert first.run.returncode == 0, first.run.output[-3000:]
    assert first.run.changed > 0
    again = render(tmp_path)
    assert again.run.returncode == 0, again.run.output[-3000:]
    assert again.run.changed == 0, again.run.output[-3000:]


def test_check_mode_diff_changes_nothing_and_hides_secrets(tmp_path: Path) -> None:
    rendered = render(tmp_path, VARIANTS["github-acm"], args=("--check", "--diff"))
    assert rendered.run.returncode == 0, rendered.run.output[-3000:]
    assert "+  profileList:" in rendered.run.output  # the public values are diffed
    for secret in (OAUTH_SECRET, COOKIE_SECRET, PROXY_TOKEN):
        assert secret not in rendered.run.output
    assert not rendered.out.exists()


def _path_without_helm() -> str:
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    assert shutil.which("helm", path=path) is None, "this test needs a PATH without helm"
    return path


def test_apply_without_helm_stops_before_any_change(tmp_path: Path) -> None:
    run = render(
        tmp_path,
        {"jupyterhub_eks_apply": True, "jupyterhub_eks_kubeconfig": str(tmp_path / "kubeconfig")},
        env={"PATH": _path_without_helm()},
    )
    assert run.run.returncode != 0
    assert "no helm binary on PATH" in run.run.output, run.run.output[-3000:]
    assert "jupyterhub_eks_apply" in run.run.output
    assert not run.out.exists()


def test_apply_without_a_reachable_cluster_stops_before_any_change(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    helm.write_text("#!/bin/sh\necho 'a stand-in: the cluster check must stop the run first' >&2\nexit 1\n")
    helm.chmod(0o755)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                # Port 9 (discard) on loopback: nothing answers.
                "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "gone", "user": {"token": "x"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
                "current-context": "gone",
            }
        )
    )
    run = render(
        tmp_path,
        {"jupyterhub_eks_apply": True, "jupyterhub_eks_kubeconfig": str(kubeconfig)},
        env={"PATH": os.pathsep.join([str(bin_dir), _path_without_helm()])},
    )
    assert run.run.returncode != 0
    assert "the cluster is not reachable" in run.run.output, run.run.output[-3000:]
    assert str(kubeconfig) in run.run.output
    assert "no helm binary" not in run.run.output
    assert not run.out.exists()


def chart_archive(tmp_path: Path, name: str = "jupyterhub", version: str = "4.4.0") -> Path:
    """A small chart standing for zero-to-jupyterhub: one ConfigMap made from the values it is given."""
    from emulator.kube import build

    source = tmp_path / "chart-source" / name
    (source / "templates").mkdir(parents=True)
    (source / "Chart.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "v2", "name": name, "version": version, "description": "a test stand-in"}
        )
    )
    (source / "templates" / "values.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chart-values\ndata:\n"
        "  profiles: {{ .Values.singleuser.profileList | len | quote }}\n"
        "  authenticator: {{ .Values.hub.config.JupyterHub.authenticator_class | quote }}\n"
    )
    subprocess.run(
        [str(build.binary("helm")), "package", str(source), "-d", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    return tmp_path / f"{name}-{version}.tgz"


def _apply(tmp_path: Path, api_server: Any, **extra: Any) -> Rendered:
    from emulator.kube import build

    return render(
        tmp_path,
        {
            "jupyterhub_eks_apply": True,
            "jupyterhub_eks_kubeconfig": str(api_server[2]),
            "jupyterhub_eks_namespace": "chart-test",
            "jupyterhub_eks_helm_timeout": 60,
            **extra,
        },
        env={"PATH": os.pathsep.join([str(build.bin_dir()), os.environ["PATH"]])},
    )


def _namespaces(api_server: Any) -> list[str]:
    client, api_client, _ = api_server
    return [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", ["jupyterhub_eks_chart_archive", "helm pull jupyterhub", "Nothing was changed"]),
        ("other-version", ["jupyterhub 4.3.0", "jupyterhub_eks_chart_version", "Nothing was changed"]),
        (
            "unreachable",
            ["jupyterhub_eks_chart_repo_url http://127.0.0.1:9/", "jupyterhub_eks_chart_archive"],
        ),
    ],
)
def test_a_chart_that_cannot_be_read_stops_before_any_change(
    tmp_path: Path, api_server: Any, case: str, words: list[str]
) -> None:
    extra = {
        "missing": {"jupyterhub_eks_chart_archive": str(tmp_path / "nowhere.tgz")},
        "other-version": {"jupyterhub_eks_chart_archive": str(chart_archive(tmp_path, version="4.3.0"))},
        "unreachable": {"jupyterhub_eks_chart_repo_url": "http://127.0.0.1:9/"},
    }[case]
    run = _apply(tmp_path, api_server, **extra)
    assert run.run.returncode != 0
    for word in words:
        assert word in run.run.output, run.run.output[-3000:]
    assert not run.out.exists()
    assert "chart-test" not in _namespaces(api_server)


def test_the_release_installs_from_a_chart_archive_on_a_real_api_server(
    tmp_path: Path, api_server: Any
) -> None:
    """helm (kubernetes.core.helm) installs the archive's chart with the role's values, after the
    namespace's manifests; a second run changes nothing."""
    client, api_client, _ = api_server
    archive = chart_archive(tmp_path)
    first = _apply(tmp_path, api_server, jupyterhub_eks_chart_archive=str(archive))
    assert first.run.returncode == 0, first.run.output[-3000:]
    core = client.CoreV1Api(api_client)
    data = core.read_namespaced_config_map("chart-values", "chart-test").data
    assert data["profiles"] == str(len(first.values["singleuser"]["profileList"]))
    assert data["authenticator"] == first.values["hub"]["config"]["JupyterHub"]["authenticator_class"]
    releases = core.list_namespaced_secret("chart-test", label_selector="owner=helm,name=jupyterhub").items
    assert [r.metadata.labels["status"] for r in releases] == ["deployed"]
    assert core.list_namespaced_resource_quota("chart-test").items, "the namespace's quota comes first"
    second = _apply(tmp_path, api_server, jupyterhub_eks_chart_archive=str(archive))
    assert second.run.returncode == 0, second.run.output[-3000:]
    assert second.run.changed == 0, second.run.output[-3000:]


def test_example_inventory_renders_valid_values(tmp_path: Path) -> None:
    """The site to copy (CILogon, ACM, two profiles) renders values the chart and the hub accept."""
    # No AWS here: the profiles keep their tags (tests/test_hub_image_digests.py pins them from ECR).
    # The example's vault holds a placeholder secret (refused on a real site): the operator's value here.
    operator = {"vault_hub_oauth_client_secret": "9c1e7a3f5b2d4e6081a3c5e7f9b1d3a5c7e9f1b3"}
    rendered = render(
        tmp_path,
        {"jupyterhub_eks_apply": False, "jupyterhub_eks_image_digests": False, **operator},
        site="example",
    )
    assert rendered.run.returncode == 0, rendered.run.output[-3000:]
    values = merged_values(rendered)
    assert list(jsonschema.Draft7Validator(chart_schema()).iter_errors(values)) == []
    problems, pods = load_hub(hub_config(values))
    assert problems == []
    assert set(pods) == {"hst", "hst-large", "tess"}
    assert "hub: https://hub.hst.example.org/" in rendered.run.output
    # Each profile runs its environment's image at the version the inventory promoted to stable, from
    # the pipeline's repository: what image_pipeline_out_images[name].stable names after the images stage.
    images = yaml.safe_load((ROOT / "inventories/example/group_vars/all/images.yml").read_text())
    registry = images["image_pipeline_registry"].replace("{{ site_region }}", "us-east-1")
    for slug, env in (("hst", "hst"), ("hst-large", "hst"), ("tess", "tess")):
        promoted = images["image_pipeline_promoted"][env]["stable"]
        expected = f"{registry}/{images['image_pipeline_repository_prefix']}{env}:{promoted}"
        assert pods[slug]["spec"]["containers"][0]["image"] == expected, pods[slug]["spec"]["containers"][0]
    assert expected == "111122223333.dkr.ecr.us-east-1.amazonaws.com/sciplat-envs/tess:2026.11"


def test_vendored_chart_files_match_the_reference() -> None:
    """The copies under emulator/kube/z2jh_chart/upstream are the chart's files, unchanged (when shared/
    is there)."""
    reference = ROOT.parent.parent / "shared" / "reference"
    if not reference.is_dir():
        pytest.skip("no shared/reference next to the checkout")
    fixtures = ROOT / "emulator" / "kube" / "z2jh_chart" / "upstream"
    for ours, theirs in (
        ("values.yaml", "z2jh-4.4.0-values.yaml"),
        ("values.schema.yaml", "z2jh-4.4.0-values.schema.yaml"),
    ):
        assert (fixtures / ours).read_bytes() == (reference / theirs).read_bytes()


def test_quotas_wire_the_rules_the_users_pages_and_the_usage_claim(
    site: tuple[str, Rendered], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, rendered = site
    values = rendered.values
    files = ROOT / "roles" / "jupyterhub" / "files"
    if name != "quotas":
        # No quotas, no cost cap: only the image check (on by default) wires the checks, without the claim.
        checks = values["hub"].get("extraConfig", {}).get("sciplat-spawn-checks", "")
        assert ("sciplat_images.ImageCheck(" in checks) == (name != "dummy")
        assert "sciplat_quota.HubQuota(" not in checks and "sciplat_costcap.CostCap(" not in checks
        assert not values["hub"].get("extraVolumes")
        assert not values["hub"].get("serviceAccount", {}).get("annotations")
        return
    hub = values["hub"]
    assert hub["config"]["JupyterHub"]["load_groups"] == {"staff": {"users": ["alice"]}}
    # The same files as the single-node backend's /etc/jupyterhub: the modules and every template,
    # in the same layout (sciplat_pages.py finds sciplat_templates/ beside itself).
    mounted = {entry["mountPath"]: entry["stringData"].strip() for entry in hub["extraFiles"].values()}
    module_dir = "/usr/local/etc/jupyterhub/sciplat"
    modules = [f"sciplat_{name}.py" for name in ("quota", "pages", "costcap", "aws", "images")]
    expected = {f"{module_dir}/{name}": (files / name) for name in modules}
    expected |= {
        f"{module_dir}/sciplat_templates/{path.name}": path
        for path in (files / "sciplat_templates").glob("*.html")
    }
    assert mounted == {mount: path.read_text().strip() for mount, path in expected.items()}
    assert hub["extraVolumes"] == [
        {"name": "sciplat-homes", "persistentVolumeClaim": {"claimName": "homes", "readOnly": True}}
    ]
    assert hub["extraVolumeMounts"][0]["readOnly"] is True
    # The JupyterLab notice is the sciplat-storage-notice extension in the users' image; their JupyterLab
    # has its update check and news prompt off, as on one host.
    quiet = {"fetchNews": "false", "checkForUpdates": False}
    assert values["singleuser"]["extraFiles"] == {
        "sciplat-lab-settings": {
            "mountPath": "/opt/conda/share/jupyter/lab/settings/overrides.json",
            "data": {"@jupyterlab/apputils-extension:notification": quiet},
        }
    }

    # The hub's extra config runs (the modules from the role's files, as the pod mounts them): the hook
    # is set, the pages and their handlers, a spawner class that explains "exceeded quota"; with no
    # measurements yet it lets spawns through and says why.
    monkeypatch.syspath_prepend(str(files))
    c = SimpleNamespace(KubeSpawner=SimpleNamespace(), JupyterHub=SimpleNamespace())
    exec(compile(hub["extraConfig"]["sciplat-spawn-checks"], "extraConfig", "exec"), {"c": c})
    assert [route for route, _ in c.JupyterHub.extra_handlers] == [r"/storage", r"/api/sciplat/quota"]
    assert c.JupyterHub.template_paths == [str(files / "sciplat_templates")]
    assert c.JupyterHub.template_vars["sciplat_storage_url"] == "/hub/storage"
    assert c.JupyterHub.spawner_class.__mro__[1].__name__ == "KubeSpawner"
    user = SimpleNamespace(name="alice", groups=[SimpleNamespace(name="staff")])
    spawner = SimpleNamespace(user=user, user_options={}, log=logging.getLogger("test"))
    with caplog.at_level(logging.WARNING, logger="JupyterHub"), mock_aws():  # no parameter: the cap is off
        assert asyncio.run(c.KubeSpawner.pre_spawn_hook(spawner)) is None
    assert "cannot read /srv/sciplat-homes/.sciplat-usage/usage.json" in caplog.text
    assert "cost cap: cannot read" not in caplog.text  # read, and found off (not failed open)

    # The cost cap (docs/cost.md): the hub's IAM role on its service account; while the parameter
    # exists a spawn is refused with the cost cap's page, before the storage check.
    assert hub["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": HUB_ROLE_ARN}
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    c = SimpleNamespace(KubeSpawner=SimpleNamespace(), JupyterHub=SimpleNamespace())
    exec(compile(hub["extraConfig"]["sciplat-spawn-checks"], "extraConfig", "exec"), {"c": c})
    record = {"enabled": True, "since": "2026-12-05T06:00:00+00:00", "reason": "budget 110%"}
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=COST_CAP_PARAMETER, Type="String", Value=json.dumps(record)
        )
        with pytest.raises(web.HTTPError) as refused:
            asyncio.run(c.KubeSpawner.pre_spawn_hook(spawner))
    assert refused.value.status_code == 403
    assert 'data-sciplat-refusal="cost-cap"' in refused.value.jupyterhub_html_message
    assert "Who can tell you more: ops@example.org." in refused.value.jupyterhub_message
