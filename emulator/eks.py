"""EKS as AWS runs it: clusters, node groups and add-ons take time, updates are tracked, add-ons exist.

moto's EKS backend and response class are subclassed; ``install()`` swaps them in before the server
builds its Flask app (moto reads ``moto.eks.urls.url_paths`` then). Shapes and paths come from
botocore's ``eks`` service model; each method names the API reference page it follows.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any, cast
from uuid import uuid4

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.exceptions import EC2ClientError, InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.eks import models as eks_models
from moto.eks import urls as eks_urls
from moto.eks.exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from moto.eks.models import (
    CLUSTER_NOT_READY_MSG,
    EKSBackend,
    eks_backends,
    paginated_list,
    validate_safe_to_delete,
)
from moto.eks.responses import DEFAULT_MAX_RESULTS, EKSResponse
from moto.eks.utils import validate_role_arn

from emulator import eks_access, eks_addons, eks_kubernetes
from emulator.eks_addons import Addon
from emulator.lifecycle import TimedStatus, deprovision, provision, timeline, update
from emulator.patching import route

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# The date part of every AMI release version the emulator offers (release_for).
AMI_RELEASE_DATE = "20250704"
DEFAULT_UPDATE_CONFIG = {"maxUnavailable": 1}


def _in_use(message: str, **names: str | None) -> ResourceInUseException:
    return ResourceInUseException(
        clusterName=names.get("cluster"),
        nodegroupName=names.get("nodegroup"),
        addonName=names.get("addon"),
        message=message,
    )


def _not_found(message: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None, message=message
    )


def logging_config(enabled: set[str]) -> dict[str, Any]:
    """The ``Logging`` shape as AWS returns it: one entry for enabled types, one for disabled."""
    groups = [
        {"types": [t for t in LOG_TYPES if t in enabled], "enabled": True},
        {"types": [t for t in LOG_TYPES if t not in enabled], "enabled": False},
    ]
    return {"clusterLogging": [group for group in groups if group["types"]]}


def enabled_log_types(logging: dict[str, Any] | None, current: set[str] | None = None) -> set[str]:
    """Apply a ``Logging`` request to the enabled types: types it does not name keep their state."""
    enabled = set(current or ())
    for setup in (logging or {}).get("clusterLogging", []):
        types = set(setup.get("types", []))
        enabled = enabled | types if setup.get("enabled") else enabled - types
    return enabled


class Update:
    """The ``Update`` shape: InProgress until the change completes, then Successful.

    https://docs.aws.amazon.com/eks/latest/APIReference/API_Update.html
    A version update of a node group also waits for its nodes to be replaced (``settled``).
    """

    timed = TimedStatus()

    def __init__(
        self,
        update_type: str,
        params: list[dict[str, str]],
        ready_at: float,
        settled: Callable[[], bool] | None = None,
    ) -> None:
        self.id = str(uuid4())
        self.type = update_type
        self.params = params
        self.created_at = utcnow()
        self.errors: list[dict[str, Any]] = []
        self.settled = settled
        timeline(self).move("InProgress", "Successful", ready_at)

    @property
    def status(self) -> str | None:
        status = self.timed
        if status == "Successful" and self.settled is not None and not self.settled():
            return "InProgress"
        return status


class VersionField:
    """A version attribute of moto's Cluster / Nodegroup that changes when its version update succeeds
    (EKS reports the old version while the update is InProgress)."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        pending = obj.__dict__.get("_version_update")
        if pending is not None and pending[0].status == "Successful":
            del obj.__dict__["_version_update"]
            obj.__dict__.update(pending[1])
        return obj.__dict__.get(self.attribute)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.attribute] = value


def _version_pending(obj: Any, status: str | None) -> str | None:
    """UPDATING while a version update runs past its timed part (node groups: nodes still rolling)."""
    pending = obj.__dict__.get("_version_update")
    if status == "ACTIVE" and pending is not None and pending[0].status != "Successful":
        return "UPDATING"
    return status


def minor(version: str | None) -> tuple[int, int] | None:
    with contextlib.suppress(AttributeError, ValueError):
        major, minor_, *_ = (version or "").split(".")
        return int(major), int(minor_)
    return None


def release_for(version: str) -> str:
    """The EKS-optimised AMI release the emulator offers for a Kubernetes version (one per version)."""
    return f"{version}.0-{AMI_RELEASE_DATE}"


class EmulatedEKSBackend(EKSBackend):
    """moto's EKS backend with time-taking states, tracked updates, add-ons and AWS's answers."""

    @property
    def _url_module(self) -> ModuleType:
        return eks_urls  # moto derives it from the class's module otherwise

    # Resources whose deletion has completed are dropped whenever the backend is looked at.
    @property  # type: ignore[override]
    def clusters(self) -> dict[str, Any]:
        for name, cluster in list(self._clusters.items()):
            if cluster.status is None:
                del self._clusters[name]
                self._delete_cluster_security_group(cluster)
                continue
            for nodegroup_name, nodegroup in list(cluster.nodegroups.items()):
                if nodegroup.status is None:
                    del cluster.nodegroups[nodegroup_name]
                    cluster.nodegroup_count -= 1
            for addon_name, addon in list(cluster.addons.items()):
                if addon.status is None:
                    del cluster.addons[addon_name]
        return self._clusters

    @clusters.setter
    def clusters(self, value: dict[str, Any]) -> None:
        self._clusters = value

    @property
    def _ec2(self) -> Any:
        return ec2_backends[self.account_id][self.region_name]

    # -- clusters ---------------------------------------------------------------------------------

    def create_cluster(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html"""
        kwargs["version"] = kwargs.get("version") or eks_addons.LATEST_KUBERNETES_VERSION
        cluster = super().create_cluster(**kwargs)
        # One OIDC issuer per cluster (moto shares one across all): a rebuilt cluster needs new IRSA trust.
        cluster.identity = {
            "oidc": {"issuer": f"https://oidc.eks.{self.region_name}.amazonaws.com/id/{uuid4().hex.upper()}"}
        }
        cluster.enabled_log_types = enabled_log_types(kwargs.get("logging"))
        cluster.logging = logging_config(cluster.enabled_log_types)
        cluster.resources_vpc_config = self._vpc_config(cluster.name, kwargs["resources_vpc_config"] or {})
        cluster.addons, cluster.updates = {}, {}
        provision(cluster, "eks::cluster.create", cluster.name, "CREATING", "ACTIVE")
        eks_kubernetes.on_create_cluster(self.account_id, self.region_name, cluster)
        return cluster

    def _vpc_config(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """The ``VpcConfigResponse`` shape, with AWS's defaults and the cluster security group EKS creates."""
        config: dict[str, Any] = {
            "subnetIds": request.get("subnetIds", []),
            "securityGroupIds": request.get("securityGroupIds", []),
            "endpointPublicAccess": request.get("endpointPublicAccess", True),
            "endpointPrivateAccess": request.get("endpointPrivateAccess", False),
            "publicAccessCidrs": request.get("publicAccessCidrs", ["0.0.0.0/0"]),
        }
        try:
            vpc_id = self._ec2.get_subnet(config["subnetIds"][0]).vpc_id
        except (IndexError, InvalidSubnetIdError):  # no such subnet here: nothing to attach a group to
            return config
        group = self._ec2.create_security_group(
            name=f"eks-cluster-sg-{name}-{uuid4().hex[:10]}",
            description="EKS created security group applied to ENI that is attached to EKS Control Plane "
            "master nodes, as well as any managed workloads.",
            vpc_id=vpc_id,
            tags={"aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"},
        )
        return {**config, "vpcId": vpc_id, "clusterSecurityGroupId": group.id}

    def _delete_cluster_security_group(self, cluster: Any) -> None:
        group_id = cluster.resources_vpc_config.get("clusterSecurityGroupId")
        if group_id:
            with contextlib.suppress(EC2ClientError):  # still referenced: AWS leaves it behind too
                self._ec2.delete_security_group(group_id=group_id)

    def delete_cluster(self, name: str) -> Any:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_DeleteCluster.html"""
        cluster = self.describe_cluster(name)
        validate_safe_to_delete(cluster)
        if cluster.status != "DELETING":
            deprovision(cluster, "eks::cluster.delete", "DELETING")
            for addon in cluster.addons.values():  # deleted with the cluster
                deprovision(addon, "eks::cluster.delete", "DELETING")
            eks_kubernetes.forget(self.account_id, self.region_name, name)
            eks_access.forget_cluster(self.account_id, self.region_name, name)
        return cluster

    def _require_active(self, target: Any, kind: str, **names: str) -> None:
        """A second update while one runs: AWS answers (for node groups, verbatim) with this."""
        if timeline(target).status() != "ACTIVE":
            raise _in_use(f"{kind} cannot be updated as it is currently not in Active State", **names)

    def _start_update(
        self,
        target: Any,
        model: str,
        update_type: str,
        params: list[dict[str, str]],
        settled: Callable[[], bool] | None = None,
    ) -> Update:
        started = Update(update_type, params, update(target, model, "UPDATING", "ACTIVE"), settled)
        target.updates[started.id] = started
        return started

    def update_cluster_version(self, name: str, version: str | None) -> Update:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterVersion.html

        One minor version up at a time, once every managed node group runs the cluster's version; the
        cluster is UPDATING and reports its old version until the update is Successful.
        """
        cluster = self.describe_cluster(name)
        self._require_active(cluster, "Cluster", cluster=name)
        current, wanted = minor(cluster.version), minor(version)
        if (
            wanted is None
            or current is None
            or wanted != (current[0], current[1] + 1)
            or (version not in eks_addons.KUBERNETES_VERSIONS)
        ):
            raise InvalidParameterException(
                clusterName=name,
                message=f"Unsupported Kubernetes minor version update from {cluster.version} to {version}",
            )
        behind = sorted(
            group.nodegroup_name for group in cluster.nodegroups.values() if minor(group.version) != current
        )
        if behind:
            raise InvalidRequestException(
                message=f"Nodegroups {', '.join(behind)} must be updated to match cluster version "
                f"{cluster.version} before updating cluster version"
            )
        params = [
            {"type": "Version", "value": version},
            {"type": "PlatformVersion", "value": cluster.platformVersion},
        ]
        started = self._start_update(cluster, "eks::cluster.version", "VersionUpdate", params)
        cluster.__dict__["_version_update"] = (started, {"version": version})
        return started

    def update_cluster_config(  # type: ignore[override]
        self,
        name: str,
        resources_vpc_config: dict[str, Any] | None,
        logging: dict[str, Any] | None = None,
        **_: Any,
    ) -> Update:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateClusterConfig.html

        One kind of change per call; a request that changes nothing is refused, as AWS does.
        """
        cluster = self.describe_cluster(name)
        if bool(logging) == bool(resources_vpc_config):
            raise InvalidParameterException(message="Only one type of update can be allowed.")
        self._require_active(cluster, "Cluster", cluster=name)
        if logging:
            enabled = enabled_log_types(logging, cluster.enabled_log_types)
            if enabled == cluster.enabled_log_types:
                raise InvalidParameterException(
                    clusterName=name, message="No changes needed for the logging config provided"
                )
            cluster.enabled_log_types = enabled
            cluster.logging = logging_config(enabled)
            params = [{"type": "ClusterLogging", "value": json.dumps(cluster.logging)}]
            return self._start_update(cluster, "eks::cluster.update", "LoggingUpdate", params)
        return self._update_vpc_config(cluster, resources_vpc_config or {})

    def _update_vpc_config(self, cluster: Any, request: dict[str, Any]) -> Update:
        current = cluster.resources_vpc_config
        access_keys = {
            "endpointPublicAccess": "EndpointPublicAccess",
            "endpointPrivateAccess": "EndpointPrivateAccess",
            "publicAccessCidrs": "PublicAccessCidrs",
        }
        network_keys = {"subnetIds": "Subnets", "securityGroupIds": "SecurityGroups"}
        changed = {
            k: v for k, v in request.items() if k in access_keys | network_keys and current.get(k) != v
        }
        if not changed:
            raise InvalidParameterException(
                clusterName=cluster.name,
                message="Cluster is already at the desired configuration with "
                f"endpointPrivateAccess: {str(current['endpointPrivateAccess']).lower()} , "
                f"endpointPublicAccess: {str(current['endpointPublicAccess']).lower()}, and "
                f"Public Endpoint Restrictions: [{', '.join(current['publicAccessCidrs'])}]",
            )
        current.update(changed)
        names = access_keys | network_keys
        params = [{"type": names[k], "value": json.dumps(v)} for k, v in changed.items()]
        kind = "VpcConfigUpdate" if set(changed) & set(network_keys) else "EndpointAccessUpdate"
        return self._start_update(cluster, "eks::cluster.update", kind, params)

    def associate_encryption_config(
        self, cluster_name: str, encryption_config: list[dict[str, Any]]
    ) -> Update:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_AssociateEncryptionConfig.html"""
        cluster = self.describe_cluster(cluster_name)
        if cluster.encryption_config:
            raise InvalidRequestException(message=f"Encryption is already enabled on cluster {cluster_name}")
        self._require_active(cluster, "Cluster", cluster=cluster_name)
        cluster.encryption_config = encryption_config
        params = [{"type": "EncryptionConfig", "value": json.dumps(encryption_config)}]
        return self._start_update(cluster, "eks::cluster.update", "AssociateEncryptionConfig", params)

    def _update_target(self, name: str, nodegroup_name: str | None, addon_name: str | None) -> Any:
        if nodegroup_name:
            return self.describe_nodegroup(name, nodegroup_name)
        if addon_name:
            return self.describe_addon(name, addon_name)
        return self.describe_cluster(name)

    def describe_update(
        self, name: str, update_id: str, nodegroup_name: str | None, addon_name: str | None
    ) -> Update:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeUpdate.html"""
        target = self._update_target(name, nodegroup_name, addon_name)
        if update_id not in target.updates:
            raise _not_found(f"No update found for ID: {update_id}")
        return cast(Update, target.updates[update_id])

    def list_updates(self, name: str, nodegroup_name: str | None, addon_name: str | None) -> list[str]:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_ListUpdates.html"""
        return list(self._update_target(name, nodegroup_name, addon_name).updates)

    # -- node groups ------------------------------------------------------------------------------

    def create_nodegroup(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html"""
        cluster = self.describe_cluster(kwargs["cluster_name"])
        kwargs["version"] = kwargs.get("version") or cluster.version
        kwargs["release_version"] = kwargs.get("release_version") or release_for(kwargs["version"])
        nodegroup = super().create_nodegroup(**kwargs)
        nodegroup.scaling_config = dict(nodegroup.scaling_config)  # moto shares one default dict
        if kwargs.get("launch_template"):
            # The volumes are the launch template's: EKS reports no disk size (moto gave its default 20;
            # it already refuses a diskSize with a launch template, as EKS does).
            nodegroup.disk_size = None
        nodegroup.update_config = dict(DEFAULT_UPDATE_CONFIG)
        nodegroup.updates = {}
        nodegroup.node_generation, nodegroup.target_release = 0, nodegroup.release_version
        provision(
            nodegroup,
            "eks::nodegroup.create",
            f"{cluster.name}/{nodegroup.nodegroup_name}",
            "CREATING",
            "ACTIVE",
        )
        return nodegroup

    def update_nodegroup_config(  # type: ignore[override]
        self, cluster_name: str, nodegroup_name: str, **kwargs: Any
    ) -> Update:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateNodegroupConfig.html"""
        nodegroup = self.describe_nodegroup(cluster_name, nodegroup_name)
        self._require_active(nodegroup, "Nodegroup", cluster=cluster_name, nodegroup=nodegroup_name)
        super().update_nodegroup_config(cluster_name, nodegroup_name, **kwargs)
        params = []
        for key, param in (("minSize", "MinSize"), ("maxSize", "MaxSize"), ("desiredSize", "DesiredSize")):
            if key in (kwargs.get("scaling_config") or {}):
                params.append({"type": param, "value": str(kwargs["scaling_config"][key])})
        for arg, key, param in (
            ("labels", "addOrUpdateLabels", "LabelsToAdd"),
            ("labels", "removeLabels", "LabelsToRemove"),
            ("taints", "addOrUpdateTaints", "TaintsToAdd"),
            ("taints", "removeTaints", "TaintsToRemove"),
            ("update_config", "maxUnavailable", "MaxUnavailable"),
            ("update_config", "maxUnavailablePercentage", "MaxUnavailablePercentage"),
        ):
            if key in (kwargs.get(arg) or {}):
                params.append({"type": param, "value": json.dumps(kwargs[arg][key])})
        return self._start_update(nodegroup, "eks::nodegroup.update", "ConfigUpdate", params)

    def update_nodegroup_version(
        self,
        cluster_name: str,
        nodegroup_name: str,
        version: str | None,
        release_version: str | None,
        launch_template: dict[str, Any] | None,
    ) -> Update:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateNodegroupVersion.html

        No version: the cluster's. Never above the cluster's, never down. The group's nodes are
        replaced one at a time (a new node up, an old one drained, honouring PodDisruptionBudgets, and
        removed); the group is UPDATING, and reports its old versions, until that is done.
        """
        cluster = self.describe_cluster(cluster_name)
        nodegroup = self.describe_nodegroup(cluster_name, nodegroup_name)
        self._require_active(nodegroup, "Nodegroup", cluster=cluster_name, nodegroup=nodegroup_name)
        version = version or cluster.version
        wanted, current = minor(version), minor(nodegroup.version)
        if wanted is None or wanted > (minor(cluster.version) or wanted):
            raise InvalidParameterException(
                clusterName=cluster_name,
                nodegroupName=nodegroup_name,
                message=f"Requested Nodegroup version {version} is not supported or is higher than the "
                f"cluster version {cluster.version}",
            )
        if current is not None and wanted < current:
            raise InvalidParameterException(
                clusterName=cluster_name,
                nodegroupName=nodegroup_name,
                message=f"Requested Nodegroup version {version} is lower than the current version "
                f"{nodegroup.version}",
            )
        release = release_version or release_for(version)
        if not release.startswith(f"{version}."):
            raise InvalidParameterException(
                clusterName=cluster_name,
                nodegroupName=nodegroup_name,
                message=f"Requested release version {release} is not valid for kubernetes version {version}",
            )
        values: dict[str, Any] = {"version": version, "release_version": release}
        params = [{"type": "Version", "value": version}, {"type": "ReleaseVersion", "value": release}]
        if launch_template:
            if not nodegroup.launch_template:
                raise InvalidParameterException(
                    clusterName=cluster_name,
                    nodegroupName=nodegroup_name,
                    message="You cannot specify a launch template for a nodegroup that was not created "
                    "with a launch template",
                )
            values["launch_template"] = {**nodegroup.launch_template, **launch_template}
            params += [
                {"type": "LaunchTemplateName", "value": nodegroup.launch_template.get("name", "")},
                {"type": "LaunchTemplateVersion", "value": str(launch_template.get("version", ""))},
            ]
        # Every version update replaces the group's nodes: nodes of an older generation are rolled.
        nodegroup.node_generation = getattr(nodegroup, "node_generation", 0) + 1
        nodegroup.target_release = release
        started = self._start_update(
            nodegroup,
            "eks::nodegroup.version",
            "VersionUpdate",
            params,
            settled=lambda: eks_kubernetes.nodes_rolled(self.account_id, self.region_name, nodegroup),
        )
        nodegroup.__dict__["_version_update"] = (started, values)
        return started

    def list_nodegroups(self, cluster_name: str, max_results: int, next_token: str | None) -> Any:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_ListNodegroups.html: an unknown
        cluster is ResourceNotFoundException (moto answered a server error)."""
        if cluster_name not in self.clusters:
            raise _not_found(f"No cluster found for name: {cluster_name}.")
        return super().list_nodegroups(cluster_name, max_results, next_token)

    def delete_nodegroup(self, cluster_name: str, nodegroup_name: str) -> Any:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_DeleteNodegroup.html"""
        nodegroup = self.describe_nodegroup(cluster_name, nodegroup_name)
        if nodegroup.status != "DELETING":
            deprovision(nodegroup, "eks::nodegroup.delete", "DELETING")
        return nodegroup

    # -- add-ons ----------------------------------------------------------------------------------

    def create_addon(
        self,
        cluster_name: str,
        addon_name: str,
        addon_version: str | None,
        service_account_role_arn: str | None,
        configuration_values: str | None,
        tags: dict[str, str] | None,
    ) -> Addon:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAddon.html"""
        cluster = self.describe_cluster(cluster_name)
        if addon_name in cluster.addons:
            raise _in_use("Addon already exists.", cluster=cluster_name, addon=addon_name)
        if not cluster.is_active:
            raise InvalidRequestException(message=CLUSTER_NOT_READY_MSG.format(clusterName=cluster_name))
        version = eks_addons.resolve_version(addon_name, addon_version, cluster.version)
        if service_account_role_arn:
            validate_role_arn(service_account_role_arn)
        addon = Addon(cluster, addon_name, version, service_account_role_arn, configuration_values, tags)
        addon.updates = {}
        cluster.addons[addon_name] = addon
        record = provision(addon, "eks::addon.create", f"{cluster_name}/{addon_name}", "CREATING", "ACTIVE")
        # Readiness may also wait for nodes: the add-on decides when it is ready (see Addon.status).
        addon.created_until, record.ready_at = cast(float, record.ready_at), None
        record.probe = lambda: addon.status
        return addon

    def describe_addon(self, cluster_name: str, addon_name: str) -> Addon:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddon.html"""
        cluster = self.describe_cluster(cluster_name)
        if addon_name not in cluster.addons:
            raise _not_found(f"No addon: {addon_name} found in cluster: {cluster_name}")
        return cast(Addon, cluster.addons[addon_name])

    def update_addon(
        self,
        cluster_name: str,
        addon_name: str,
        addon_version: str | None,
        service_account_role_arn: str | None,
        resolve_conflicts: str | None,
        configuration_values: str | None,
    ) -> Update:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateAddon.html"""
        addon = self.describe_addon(cluster_name, addon_name)
        self._require_active(addon, "Addon", cluster=cluster_name, addon=addon_name)
        version = eks_addons.resolve_version(
            addon_name, addon_version or addon.addon_version, addon.cluster.version
        )
        params = [{"type": "AddonVersion", "value": version}]
        if service_account_role_arn is not None:
            validate_role_arn(service_account_role_arn)
            addon.service_account_role_arn = service_account_role_arn
            params.append({"type": "ServiceAccountRoleArn", "value": service_account_role_arn})
        if configuration_values is not None:
            addon.configuration_values = configuration_values
            params.append({"type": "ConfigurationValues", "value": configuration_values})
        if resolve_conflicts:
            params.append({"type": "ResolveConflicts", "value": resolve_conflicts})
        addon.addon_version, addon.modified_at = version, utcnow()
        return self._start_update(addon, "eks::addon.update", "AddonUpdate", params)

    def delete_addon(self, cluster_name: str, addon_name: str) -> Addon:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_DeleteAddon.html"""
        addon = self.describe_addon(cluster_name, addon_name)
        if addon.status != "DELETING":
            deprovision(addon, "eks::addon.delete", "DELETING")
        return addon

    def list_addons(
        self, cluster_name: str, max_results: int, next_token: str | None
    ) -> tuple[list[str], Any]:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_ListAddons.html"""
        return paginated_list(list(self.describe_cluster(cluster_name).addons), max_results, next_token)

    # -- tags: clusters, node groups and add-ons alike ---------------------------------------------

    def _tagged(self, arn: str) -> Any:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_TagResource.html"""
        for cluster in self.clusters.values():
            for resource in (cluster, *cluster.nodegroups.values(), *cluster.addons.values()):
                if resource.arn == arn:
                    return resource
            for profile in cluster.fargate_profiles.values():
                if profile.fargate_profile_arn == arn:
                    return profile
        raise _not_found("Resource was not found")

    def tag_resource(self, resource_arn: str, tags: dict[str, str]) -> None:
        self._tagged(resource_arn).tags.update(tags)

    def untag_resource(self, resource_arn: str, tag_keys: list[str]) -> None:
        resource = self._tagged(resource_arn)
        for key in tag_keys if isinstance(tag_keys, list) else [tag_keys]:
            resource.tags.pop(key, None)

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, str]:
        return cast(dict[str, str], self._tagged(resource_arn).tags)


class EmulatedEKSResponse(eks_access.AccessEntryResponses, EKSResponse):
    """Request parsing for the operations moto lacks or answers unlike AWS."""

    @property
    def eks_backend(self) -> EmulatedEKSBackend:
        return cast(EmulatedEKSBackend, eks_backends[self.current_account][self.region])

    def create_cluster(self) -> ActionResult:
        """moto's, plus the access configuration and the creator's admin access entry."""
        from moto.sts.models import sts_backends

        result = super().create_cluster()
        cluster = cast(dict[str, Any], result.result)["cluster"]
        _, caller, _ = sts_backends[self.current_account]["global"].get_caller_identity(
            self.get_access_key(), self.region
        )
        eks_access.on_create_cluster(self.eks_backend, cluster, self._get_param("accessConfig"), caller)
        return result

    def create_nodegroup(self) -> ActionResult:
        result = super().create_nodegroup()
        if update_config := self._get_param("updateConfig"):
            cast(dict[str, Any], result.result)["nodegroup"].update_config = update_config
        return result

    def update_cluster_config(self) -> ActionResult:
        return ActionResult(
            {
                "update": self.eks_backend.update_cluster_config(
                    name=self._get_param("name"),
                    resources_vpc_config=self._get_param("resourcesVpcConfig"),
                    logging=self._get_param("logging"),
                )
            }
        )

    def update_cluster_version(self) -> ActionResult:
        started = self.eks_backend.update_cluster_version(self._get_param("name"), self._get_param("version"))
        return ActionResult({"update": started})

    def update_nodegroup_version(self) -> ActionResult:
        started = self.eks_backend.update_nodegroup_version(
            cluster_name=self._get_param("name"),
            nodegroup_name=self._get_param("nodegroupName"),
            version=self._get_param("version"),
            release_version=self._get_param("releaseVersion"),
            launch_template=self._get_param("launchTemplate"),
        )
        return ActionResult({"update": started})

    def associate_encryption_config(self) -> ActionResult:
        backend = self.eks_backend
        started = backend.associate_encryption_config(
            self._get_param("name"), self._get_param("encryptionConfig")
        )
        return ActionResult({"update": started})

    def describe_update(self) -> ActionResult:
        started = self.eks_backend.describe_update(
            self._get_param("name"),
            self._get_param("updateId"),
            self._get_param("nodegroupName"),
            self._get_param("addonName"),
        )
        return ActionResult({"update": started})

    def list_updates(self) -> ActionResult:
        ids = self.eks_backend.list_updates(
            self._get_param("name"), self._get_param("nodegroupName"), self._get_param("addonName")
        )
        return ActionResult({"updateIds": ids})

    def create_addon(self) -> ActionResult:
        addon = self.eks_backend.create_addon(
            cluster_name=self._get_param("name"),
            addon_name=self._get_param("addonName"),
            addon_version=self._get_param("addonVersion"),
            service_account_role_arn=self._get_param("serviceAccountRoleArn"),
            configuration_values=self._get_param("configurationValues"),
            tags=self._get_param("tags"),
        )
        return ActionResult({"addon": addon})

    def describe_addon(self) -> ActionResult:
        return ActionResult(
            {"addon": self.eks_backend.describe_addon(self._get_param("name"), self._get_param("addonName"))}
        )

    def update_addon(self) -> ActionResult:
        started = self.eks_backend.update_addon(
            cluster_name=self._get_param("name"),
            addon_name=self._get_param("addonName"),
            addon_version=self._get_param("addonVersion"),
            service_account_role_arn=self._get_param("serviceAccountRoleArn"),
            resolve_conflicts=self._get_param("resolveConflicts"),
            configuration_values=self._get_param("configurationValues"),
        )
        return ActionResult({"update": started})

    def delete_addon(self) -> ActionResult:
        return ActionResult(
            {"addon": self.eks_backend.delete_addon(self._get_param("name"), self._get_param("addonName"))}
        )

    def list_addons(self) -> ActionResult:
        names, next_token = self.eks_backend.list_addons(
            self._get_param("name"),
            self._get_int_param("maxResults", DEFAULT_MAX_RESULTS),
            self._get_param("nextToken"),
        )
        return ActionResult({"addons": names, "nextToken": next_token})

    def describe_addon_versions(self) -> ActionResult:
        """https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddonVersions.html"""
        infos = eks_addons.describe_versions(
            self._get_param("kubernetesVersion"), self._get_param("addonName")
        )
        return ActionResult({"addons": infos})


# Paths from botocore's eks model for the operations added here.
NEW_PATHS = (
    "{0}/clusters/(?P<name>[^/]+)/addons$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$",
    "{0}/addons/supported-versions$",
    "{0}/clusters/(?P<name>[^/]+)/updates$",
    "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/encryption-config/associate$",
    "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$",
)


def _arn_account_region(obj: Any) -> tuple[str, str]:
    parts = obj.arn.split(":")
    return parts[4], parts[3]


class ClusterStatus(TimedStatus):
    """The clock's status, held at CREATING until the cluster's Kubernetes API server is ready."""

    def __get__(self, obj: Any, owner: type) -> Any:
        timed = super().__get__(obj, owner)
        if obj is None:
            return timed
        status = eks_kubernetes.cluster_status(*_arn_account_region(obj), obj.name, timed)
        return _version_pending(obj, status)


class NodegroupStatus(TimedStatus):
    """The clock's status, held at CREATING until the group's nodes are Ready."""

    def __get__(self, obj: Any, owner: type) -> Any:
        timed = super().__get__(obj, owner)
        if obj is None:
            return timed
        status = eks_kubernetes.nodegroup_status(*_arn_account_region(obj), obj, timed)
        return _version_pending(obj, status)


def install() -> None:
    eks_models.Cluster.status = ClusterStatus()  # type: ignore[assignment,method-assign]
    eks_models.Nodegroup.status = NodegroupStatus()  # type: ignore[assignment,method-assign]
    eks_models.Cluster.version = VersionField("version")  # type: ignore[assignment,method-assign]
    for attribute in ("version", "release_version", "launch_template"):
        setattr(eks_models.Nodegroup, attribute, VersionField(attribute))
    eks_backends.backend = EmulatedEKSBackend
    route(eks_urls, EmulatedEKSResponse, NEW_PATHS + eks_access.PATHS)
