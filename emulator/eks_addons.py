"""EKS add-ons: a small catalogue of the AWS-published add-ons, and the Addon resource.

Shapes follow botocore's ``eks`` service model (``Addon``, ``AddonInfo``, ``AddonVersionInfo``);
the API is described at https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddonVersions.html
and https://docs.aws.amazon.com/eks/latest/APIReference/API_Addon.html.

The versions are a hand-picked, realistic subset of what ``aws eks describe-addon-versions`` lists
for Kubernetes 1.29-1.33 (one default per Kubernetes version, as AWS marks it); they are not a
live copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from moto.core.utils import utcnow
from moto.eks.exceptions import InvalidParameterException

from emulator.lifecycle import record_of, timeline

KUBERNETES_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33")
LATEST_KUBERNETES_VERSION = KUBERNETES_VERSIONS[-1]


@dataclass(frozen=True)
class AddonVersion:
    version: str
    kubernetes: tuple[str, ...]
    default_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddonSpec:
    type: str
    requires_iam: bool
    # Add-ons that run a Deployment (not only a DaemonSet) need a node to schedule on: without one
    # AWS leaves them CREATING with an InsufficientNumberOfReplicas health issue.
    needs_nodes: bool
    versions: tuple[AddonVersion, ...]


def _per_kubernetes(versions: dict[str, tuple[str, str]]) -> tuple[AddonVersion, ...]:
    """Add-ons versioned with Kubernetes: {k8s: (default, latest)}."""
    out: list[AddonVersion] = []
    for k8s, (default, latest) in versions.items():
        out += [AddonVersion(latest, (k8s,)), AddonVersion(default, (k8s,), (k8s,))]
    return tuple(out)


CATALOGUE: dict[str, AddonSpec] = {
    "vpc-cni": AddonSpec(
        "networking",
        requires_iam=True,
        needs_nodes=False,
        versions=(
            AddonVersion("v1.20.1-eksbuild.3", KUBERNETES_VERSIONS),
            AddonVersion("v1.19.6-eksbuild.7", KUBERNETES_VERSIONS),
            AddonVersion("v1.19.2-eksbuild.1", KUBERNETES_VERSIONS, KUBERNETES_VERSIONS),
        ),
    ),
    "kube-proxy": AddonSpec(
        "networking",
        requires_iam=False,
        needs_nodes=False,
        versions=_per_kubernetes(
            {
                "1.29": ("v1.29.0-eksbuild.1", "v1.29.15-eksbuild.5"),
                "1.30": ("v1.30.0-eksbuild.3", "v1.30.14-eksbuild.2"),
                "1.31": ("v1.31.2-eksbuild.3", "v1.31.10-eksbuild.2"),
                "1.32": ("v1.32.0-eksbuild.2", "v1.32.6-eksbuild.2"),
                "1.33": ("v1.33.0-eksbuild.2", "v1.33.3-eksbuild.4"),
            }
        ),
    ),
    "coredns": AddonSpec(
        "networking",
        requires_iam=False,
        needs_nodes=True,
        versions=(
            AddonVersion("v1.12.2-eksbuild.4", ("1.33",)),
            AddonVersion("v1.12.1-eksbuild.2", ("1.33",), ("1.33",)),
            AddonVersion("v1.11.4-eksbuild.14", ("1.29", "1.30", "1.31", "1.32")),
            AddonVersion("v1.11.4-eksbuild.2", ("1.29", "1.30", "1.31", "1.32"), ("1.32",)),
            AddonVersion("v1.11.3-eksbuild.1", ("1.29", "1.30", "1.31"), ("1.31",)),
            AddonVersion("v1.11.1-eksbuild.8", ("1.29", "1.30"), ("1.29", "1.30")),
        ),
    ),
    "aws-ebs-csi-driver": AddonSpec(
        "storage",
        requires_iam=True,
        needs_nodes=True,
        versions=(
            AddonVersion("v1.46.0-eksbuild.1", KUBERNETES_VERSIONS),
            AddonVersion("v1.45.0-eksbuild.2", KUBERNETES_VERSIONS, KUBERNETES_VERSIONS),
        ),
    ),
    # Container Insights: the CloudWatch agent (metrics) and Fluent Bit (container logs) on every node.
    "amazon-cloudwatch-observability": AddonSpec(
        "observability",
        requires_iam=True,
        needs_nodes=True,
        versions=(
            AddonVersion("v4.4.0-eksbuild.1", KUBERNETES_VERSIONS),
            AddonVersion("v4.3.0-eksbuild.1", KUBERNETES_VERSIONS, KUBERNETES_VERSIONS),
        ),
    ),
    "aws-efs-csi-driver": AddonSpec(
        "storage",
        requires_iam=True,
        needs_nodes=True,
        versions=(
            AddonVersion("v2.1.9-eksbuild.1", KUBERNETES_VERSIONS),
            AddonVersion("v2.1.4-eksbuild.1", KUBERNETES_VERSIONS, KUBERNETES_VERSIONS),
        ),
    ),
}


def resolve_version(name: str, version: str | None, kubernetes: str) -> str:
    """The version to install: the one asked for if it exists for this cluster, else the default."""
    spec = CATALOGUE.get(name)
    if spec is None:
        raise InvalidParameterException(addonName=name, message=f"Addon {name} specified is not supported")
    compatible = [v for v in spec.versions if kubernetes in v.kubernetes]
    if version is None:
        defaults = [v.version for v in compatible if kubernetes in v.default_for]
        if defaults:
            return defaults[0]
    elif any(v.version == version for v in compatible):
        return version
    raise InvalidParameterException(
        addonName=name,
        message=f"Addon version {version} specified is not supported in {kubernetes} kubernetes version",
    )


def describe_versions(kubernetes: str | None, name: str | None) -> list[dict[str, Any]]:
    """``AddonInfo`` entries, filtered as DescribeAddonVersions filters them."""
    infos = []
    for addon_name, spec in CATALOGUE.items():
        if name and addon_name != name:
            continue
        versions = [v for v in spec.versions if not kubernetes or kubernetes in v.kubernetes]
        if not versions:
            continue
        infos.append(
            {
                "addonName": addon_name,
                "type": spec.type,
                "publisher": "eks",
                "owner": "aws",
                "addonVersions": [
                    {
                        "addonVersion": v.version,
                        "architecture": ["amd64", "arm64"],
                        "computeTypes": ["ec2"],
                        "compatibilities": [
                            {
                                "clusterVersion": k8s,
                                "platformVersions": ["*"],
                                "defaultVersion": k8s in v.default_for,
                            }
                            for k8s in v.kubernetes
                            if not kubernetes or k8s == kubernetes
                        ],
                        "requiresConfiguration": False,
                        "requiresIamPermissions": spec.requires_iam,
                    }
                    for v in versions
                ],
            }
        )
    return infos


INSUFFICIENT_REPLICAS = {
    "code": "InsufficientNumberOfReplicas",
    "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.",
    "resourceIds": [],
}


class Addon:
    """One installed add-on (the ``Addon`` shape). Its status comes from its Timeline, and, for
    add-ons that need nodes, from whether the cluster has an ACTIVE node group."""

    def __init__(
        self,
        cluster: Any,
        addon_name: str,
        addon_version: str,
        service_account_role_arn: str | None,
        configuration_values: str | None,
        tags: dict[str, str] | None,
    ) -> None:
        self.cluster = cluster
        self.addon_name = addon_name
        self.cluster_name = cluster.name
        self.addon_version = addon_version
        self.service_account_role_arn = service_account_role_arn
        self.configuration_values = configuration_values
        self.tags = tags or {}
        self.arn = f"{cluster.arn.replace(':cluster/', ':addon/')}/{addon_name}/{uuid4()}"
        self.created_at = self.modified_at = utcnow()
        self.publisher, self.owner = "eks", "aws"
        self.pod_identity_associations: list[str] = []
        self.updates: dict[str, Any] = {}
        self.spec = CATALOGUE[addon_name]
        self.created_until = 0.0

    @property
    def addon_arn(self) -> str:
        return self.arn

    def _nodes_since(self) -> float | None:
        """Since when the cluster has had an ACTIVE node group (None: it has none now)."""
        if not self.spec.needs_nodes:
            return 0.0
        ready = [
            record.ready_at
            for nodegroup in self.cluster.nodegroups.values()
            if nodegroup.status in ("ACTIVE", "UPDATING")
            and (record := record_of(nodegroup))
            and record.ready_at is not None
        ]
        return min(ready) if ready else None

    @property
    def status(self) -> str | None:
        status = timeline(self).status()
        record = record_of(self)
        if status != "ACTIVE" or record is None:
            return status
        nodes_since = self._nodes_since()
        if nodes_since is None:
            return "DEGRADED" if record.ready_at is not None else "CREATING"
        if record.ready_at is None:
            record.ready_at = max(self.created_until, nodes_since)
        return status

    @property
    def health(self) -> dict[str, Any]:
        waiting = timeline(self).status() == "ACTIVE" and self._nodes_since() is None
        return {"issues": [INSUFFICIENT_REPLICAS] if waiting else []}
