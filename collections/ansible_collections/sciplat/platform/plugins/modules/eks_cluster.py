#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eks_cluster
version_added: 0.1.0
short_description: Manage Amazon EKS clusters, including logging, endpoint access and upgrades
description:
  - Create, update and delete an Amazon EKS cluster (the control plane; node groups and add-ons
    have their own modules).
  - Unlike M(community.aws.eks_cluster), this module manages control-plane logging, API endpoint
    access, secrets encryption and the authentication mode, and upgrades the Kubernetes version.
  - EKS runs one update at a time. When several are needed (endpoint access, logging,
    authentication mode, secrets encryption, version, in that order) the module waits for each
    to finish before starting the next, whatever O(wait) says; O(wait) decides whether it also
    waits for the last one.
  - The VPC side of a cluster is fixed by this module once created - O(subnets),
    O(security_groups) and O(role_arn) must match the cluster, or the task fails naming the
    parameter.
author:
  - Science platform deployment kit maintainers
options:
  name:
    description: Name of the cluster.
    type: str
    required: true
  version:
    description:
      - Kubernetes version, for example V(1.31). When omitted, a new cluster gets the EKS default
        and an existing one keeps its version.
      - A higher version than the cluster's upgrades it through UpdateClusterVersion. EKS upgrades
        one minor version at a time and never downgrades; other requests fail before any call.
      - A cluster still C(UPDATING) (an upgrade a stopped run started) reports its old version. When
        something would change, the module waits for the cluster to settle and compares then, so a
        re-run continues instead of asking for the same upgrade again.
    type: str
  role_arn:
    description:
      - ARN of the IAM role the EKS control plane uses. Required to create a cluster.
      - It cannot be changed on an existing cluster.
    type: str
  subnets:
    description:
      - IDs of the subnets (at least two, in two Availability Zones) for the control plane's
        network interfaces. Required to create a cluster.
      - They cannot be changed by this module on an existing cluster.
    type: list
    elements: str
  security_groups:
    description:
      - Additional security groups (IDs, or names in the subnets' VPC) for the control plane's
        network interfaces. EKS creates a cluster security group of its own in any case.
      - They cannot be changed by this module on an existing cluster. When omitted on an existing
        cluster they are not checked.
    type: list
    elements: str
  endpoint_public_access:
    description: Whether the Kubernetes API endpoint is reachable from the internet.
    type: bool
    default: true
  endpoint_private_access:
    description: Whether the Kubernetes API endpoint is reachable from inside the VPC.
    type: bool
    default: true
  public_access_cidrs:
    description:
      - CIDR blocks allowed to reach the public endpoint. EKS defaults to V(0.0.0.0/0).
      - When omitted they are not managed.
    type: list
    elements: str
  logging:
    description:
      - Control-plane log types to send to CloudWatch Logs; the others are disabled.
      - V([]) disables all. When omitted, logging is not managed (a new cluster logs nothing).
    type: list
    elements: str
    choices: [api, audit, authenticator, controllerManager, scheduler]
  encryption_kms_key_arn:
    description:
      - ARN of the KMS key that encrypts Kubernetes secrets (envelope encryption).
      - Can be added to a cluster that has none (AssociateEncryptionConfig), but once set it can
        be neither changed nor removed; such a request fails naming this parameter.
      - When omitted, encryption is not managed.
    type: str
  authentication_mode:
    description:
      - How the cluster authenticates IAM principals - access entries (V(API)), the
        C(aws-auth) ConfigMap (V(CONFIG_MAP)) or both.
      - EKS only moves V(CONFIG_MAP) -> V(API_AND_CONFIG_MAP) -> V(API); a request to go back fails.
    type: str
    choices: [API, API_AND_CONFIG_MAP, CONFIG_MAP]
    default: API_AND_CONFIG_MAP
  state:
    description: Whether the cluster should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the cluster is ACTIVE and its last update finished (O(state=present)) or the
        cluster is gone (O(state=absent)).
    type: bool
    default: true
  wait_timeout:
    description: Seconds the whole task may spend waiting (creating a cluster takes about ten minutes).
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - Deleting a cluster that still has node groups or Fargate profiles fails with the error
    EKS returns.
"""

EXAMPLES = r"""
- name: Create the platform's cluster.
  sciplat.platform.eks_cluster:
    name: sciplat
    version: "1.31"
    role_arn: arn:aws:iam::123456789012:role/sciplat-eks-cluster
    subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]
    security_groups: [sg-0a1b2c3d4e5f60003]
    endpoint_public_access: true
    endpoint_private_access: true
    public_access_cidrs: [203.0.113.0/24]
    logging: [api, audit, authenticator]
    encryption_kms_key_arn: arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555
    authentication_mode: API_AND_CONFIG_MAP
    tags:
      site: archive
  register: cluster

- name: Upgrade the control plane by one minor version.
  sciplat.platform.eks_cluster:
    name: sciplat
    version: "1.32"
    role_arn: arn:aws:iam::123456789012:role/sciplat-eks-cluster
    subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]

- name: Delete the cluster (its node groups must be gone).
  sciplat.platform.eks_cluster:
    name: sciplat
    state: absent
"""

RETURN = r"""
deleted:
  description:
    - With O(state=absent), the cluster as found before its deletion (the same keys as the other
      return values, in a dict), for example to remove its OIDC provider by C(deleted.identity.oidc.issuer);
      also in check mode, and while a deletion started earlier is still running.
  returned: when state is absent and the cluster existed
  type: dict
name:
  description: Name of the cluster.
  returned: when state is present
  type: str
  sample: sciplat
arn:
  description: ARN of the cluster.
  returned: when the cluster exists
  type: str
  sample: arn:aws:eks:us-east-1:123456789012:cluster/sciplat
status:
  description: Status of the cluster when the module returned.
  returned: when state is present
  type: str
  sample: ACTIVE
version:
  description: Kubernetes version.
  returned: when state is present
  type: str
  sample: "1.31"
platform_version:
  description: EKS platform version.
  returned: when the cluster exists
  type: str
  sample: eks.9
endpoint:
  description: URL of the Kubernetes API server.
  returned: when the cluster is ACTIVE
  type: str
  sample: https://EXAMPLE0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com
certificate_authority:
  description: The cluster's certificate authority.
  returned: when the cluster is ACTIVE
  type: dict
  contains:
    data:
      description: Base64-encoded CA certificate, for the kubeconfig.
      type: str
identity:
  description: The cluster's identity provider information.
  returned: when the cluster is ACTIVE
  type: dict
  contains:
    oidc:
      description: OIDC issuer, for M(sciplat.platform.iam_oidc_provider).
      type: dict
      contains:
        issuer:
          description: Issuer URL.
          type: str
          sample: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789ABCDEF
role_arn:
  description: IAM role of the control plane.
  returned: when state is present
  type: str
resources_vpc_config:
  description: Network settings of the control plane.
  returned: when state is present
  type: dict
  contains:
    subnet_ids:
      description: Subnets of the control plane.
      type: list
      elements: str
    security_group_ids:
      description: Additional security groups.
      type: list
      elements: str
    cluster_security_group_id:
      description: The security group EKS created for the cluster.
      type: str
    vpc_id:
      description: VPC of the cluster.
      type: str
    endpoint_public_access:
      description: Whether the public endpoint is on.
      type: bool
    endpoint_private_access:
      description: Whether the private endpoint is on.
      type: bool
    public_access_cidrs:
      description: CIDR blocks allowed to reach the public endpoint.
      type: list
      elements: str
logging:
  description: Control-plane logging, as EKS reports it.
  returned: when state is present
  type: dict
  sample: {"cluster_logging": [{"enabled": true, "types": ["api", "audit"]}]}
encryption_config:
  description: Secrets encryption settings.
  returned: when encryption is configured
  type: list
  elements: dict
  sample: [{"provider": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/0a1b"}, "resources": ["secrets"]}]
access_config:
  description: Authentication mode of the cluster.
  returned: when EKS reports it
  type: dict
  sample: {"authentication_mode": "API_AND_CONFIG_MAP"}
tags:
  description: Tags of the cluster.
  returned: when state is present
  type: dict
  sample: {"site": "archive"}
"""

import contextlib
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.ec2 import get_ec2_security_group_ids_from_names
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.eks import (
    apply_tags,
    format_issues,
    health_issues,
    update_errors,
    wait_for_update,
    wait_or_fail,
)
from ansible_collections.sciplat.platform.plugins.module_utils.results import describe_or_none, to_result
from ansible_collections.sciplat.platform.plugins.module_utils.tagging import (
    TAGGING_ARGUMENT_SPEC,
    tag_changes,
    tags_after,
)
from ansible_collections.sciplat.platform.plugins.module_utils.waiting import (
    GONE,
    Deadline,
    WaitError,
    check_wait_timeout,
    waiting_argument_spec,
)

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# EKS moves authentication modes one way only.
AUTH_ORDER = {"CONFIG_MAP": 0, "API_AND_CONFIG_MAP": 1, "API": 2}
MAX_DELAY = 30.0
# Statuses during which EKS refuses another update and still reports the settings from before.
BUSY = {"CREATING", "UPDATING"}
# One planned update: the client method and its request (without the cluster's name).
Update = tuple[str, dict[str, Any]]
# The parameter naming the cluster, where it is not `name`.
NAME_PARAMETER = {"associate_encryption_config": "clusterName"}


def parse_version(version: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_problem(current: str, wanted: str) -> str | None:
    """Why ``wanted`` cannot be reached from ``current`` in one UpdateClusterVersion, or None."""
    a, b = parse_version(current), parse_version(wanted)
    if b is None:
        return f"version must look like 1.31 (major.minor), got {wanted!r}"
    if a is None or a == b:
        return None
    if b < a:
        return f"version: EKS cannot downgrade a cluster (cluster runs {current}, asked {wanted})"
    if b[0] != a[0] or b[1] != a[1] + 1:
        step = f"{a[0]}.{a[1] + 1}"
        return (
            f"version: EKS upgrades one minor version at a time (cluster runs {current}, asked {wanted});"
            f" upgrade to {step} first"
        )
    return None


def logging_request(enabled: list[str]) -> dict[str, Any]:
    on = sorted(set(enabled))
    off = [t for t in LOG_TYPES if t not in on]
    entries = []
    if on:
        entries.append({"types": on, "enabled": True})
    if off:
        entries.append({"types": off, "enabled": False})
    return {"clusterLogging": entries}


def enabled_logs(cluster: dict[str, Any]) -> list[str]:
    entries = (cluster.get("logging") or {}).get("clusterLogging") or []
    return sorted({t for e in entries if e.get("enabled") for t in e.get("types", [])})


def kms_keys(cluster: dict[str, Any]) -> list[str]:
    providers = [e.get("provider") or {} for e in cluster.get("encryptionConfig") or []]
    return [p["keyArn"] for p in providers if p.get("keyArn")]


class ClusterManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.name: str = module.params["name"]
        self.deadline = Deadline(module.params["wait_timeout"])
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    # --- reads -------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any] | None:
        try:
            return describe_or_none(self.client.describe_cluster, "cluster", name=self.name)
        except botocore.exceptions.EndpointConnectionError:
            self.module.fail_json(msg=f"region: EKS is not available in {self.client.meta.region_name}")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't describe cluster {self.name}")

    def security_group_ids(self, vpc_id: str | None) -> list[str] | None:
        groups = self.params["security_groups"]
        if groups is None or all(g.startswith("sg-") for g in groups):
            return groups
        ec2 = self.module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
        try:
            if vpc_id is None:
                subnet = self.params["subnets"][0]
                vpc_id = ec2.describe_subnets(aws_retry=True, SubnetIds=[subnet])["Subnets"][0]["VpcId"]
            return get_ec2_security_group_ids_from_names(groups, ec2.client, vpc_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg="Couldn't look up the security_groups by name")

    @staticmethod
    def view(cluster: dict[str, Any] | None) -> dict[str, Any]:
        """The managed fields, for the diff."""
        if not cluster:
            return {}
        vpc = cluster.get("resourcesVpcConfig") or {}
        return {
            "version": cluster.get("version"),
            "role_arn": cluster.get("roleArn"),
            "subnets": sorted(vpc.get("subnetIds") or []),
            "security_groups": sorted(vpc.get("securityGroupIds") or []),
            "endpoint_public_access": vpc.get("endpointPublicAccess"),
            "endpoint_private_access": vpc.get("endpointPrivateAccess"),
            "public_access_cidrs": sorted(vpc.get("publicAccessCidrs") or []),
            "logging": enabled_logs(cluster),
            "encryption_kms_key_arn": (kms_keys(cluster) or [None])[0],
            "authentication_mode": (cluster.get("accessConfig") or {}).get("authenticationMode"),
            "tags": cluster.get("tags") or {},
        }

    # --- present -----------------------------------------------------------------------------

    def ensure_present(self) -> dict[str, Any]:
        if not self.params["endpoint_public_access"] and not self.params["endpoint_private_access"]:
            self.module.fail_json(
                msg="endpoint_public_access and endpoint_private_access cannot both be false:"
                " the Kubernetes API would be unreachable"
            )
        cluster = self.describe()
        if cluster is not None and cluster.get("status") == "DELETING":
            # Being deleted: create it again once it is gone (in check mode: report the creation).
            cluster = None if self.module.check_mode else self.wait({GONE}, set())
        if cluster is None:
            return self.create()
        if cluster.get("status") == "FAILED":
            self.module.fail_json(
                msg=f"Cluster {self.name} is FAILED: {format_issues(health_issues(cluster))};"
                " delete it (state=absent) and create it again",
                **to_result(cluster),
            )
        return self.update(cluster)

    def create(self) -> dict[str, Any]:
        missing = [p for p in ("role_arn", "subnets") if not self.params[p]]
        if missing:
            self.module.fail_json(msg=f"{' and '.join(missing)} required to create cluster {self.name}")
        version = self.params["version"]
        if version and parse_version(version) is None:
            self.module.fail_json(msg=f"version must look like 1.31 (major.minor), got {version!r}")
        vpc: dict[str, Any] = {
            "subnetIds": self.params["subnets"],
            "securityGroupIds": self.security_group_ids(None) or [],
            "endpointPublicAccess": self.params["endpoint_public_access"],
            "endpointPrivateAccess": self.params["endpoint_private_access"],
        }
        if self.params["public_access_cidrs"] is not None:
            vpc["publicAccessCidrs"] = self.params["public_access_cidrs"]
        request: dict[str, Any] = {
            "name": self.name,
            "roleArn": self.params["role_arn"],
            "resourcesVpcConfig": vpc,
            "accessConfig": {"authenticationMode": self.params["authentication_mode"]},
        }
        if version:
            request["version"] = version
        if self.params["logging"] is not None:
            request["logging"] = logging_request(self.params["logging"])
        if self.params["encryption_kms_key_arn"]:
            request["encryptionConfig"] = [
                {"resources": ["secrets"], "provider": {"keyArn": self.params["encryption_kms_key_arn"]}}
            ]
        if self.params["tags"]:
            request["tags"] = {k: str(v) for k, v in self.params["tags"].items()}

        planned = dict(request, status="CREATING")
        self.changed = True
        self.diff = {"before": {}, "after": self.view(planned)}
        if self.module.check_mode:
            return planned
        try:
            cluster = self.client.create_cluster(aws_retry=True, **request)["cluster"]
        except botocore.exceptions.EndpointConnectionError:
            self.module.fail_json(msg=f"region: EKS is not available in {self.client.meta.region_name}")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't create cluster {self.name}")
        if self.params["wait"]:
            cluster = self.wait({"ACTIVE"}, {"FAILED"})
        return cluster

    def check_fixed(self, cluster: dict[str, Any]) -> dict[str, Any]:
        """Fail on requests EKS (or this module) cannot apply to an existing cluster.

        Returns the extra update facts: the KMS key to associate, if any.
        """
        vpc = cluster.get("resourcesVpcConfig") or {}
        role = self.params["role_arn"]
        if role and role != cluster.get("roleArn"):
            self.module.fail_json(
                msg=f"role_arn: the IAM role of existing cluster {self.name} cannot be changed"
                f" (cluster uses {cluster.get('roleArn')}, asked {role})"
            )
        subnets = self.params["subnets"]
        if subnets is not None and set(subnets) != set(vpc.get("subnetIds") or []):
            self.module.fail_json(
                msg=f"subnets: the subnets of existing cluster {self.name} cannot be changed by this module"
                f" (cluster uses {sorted(vpc.get('subnetIds') or [])}, asked {sorted(subnets)})"
            )
        groups = self.security_group_ids(vpc.get("vpcId"))
        if groups is not None and set(groups) != set(vpc.get("securityGroupIds") or []):
            current = sorted(vpc.get("securityGroupIds") or [])
            self.module.fail_json(
                msg=f"security_groups: the security groups of existing cluster {self.name} cannot be changed"
                f" by this module (cluster uses {current}, asked {sorted(groups)})"
            )
        key = self.params["encryption_kms_key_arn"]
        current_keys = kms_keys(cluster)
        if key is not None and current_keys and key not in current_keys:
            what = "removed" if key == "" else "changed"
            self.module.fail_json(
                msg=f"encryption_kms_key_arn: secrets encryption of cluster {self.name} cannot be {what}"
                f" once set (cluster uses {current_keys[0]}, asked {key or 'no key'})"
            )
        version = self.params["version"]
        if version:
            problem = version_problem(cluster.get("version", ""), version)
            if problem:
                self.module.fail_json(msg=problem)
        mode = self.params["authentication_mode"]
        current_mode = (cluster.get("accessConfig") or {}).get("authenticationMode")
        if current_mode and AUTH_ORDER[mode] < AUTH_ORDER.get(current_mode, 0):
            self.module.fail_json(
                msg=f"authentication_mode: EKS only moves CONFIG_MAP -> API_AND_CONFIG_MAP -> API"
                f" (cluster uses {current_mode}, asked {mode})"
            )
        return {"associate_key": key if key and not current_keys else None}

    def plan_updates(self, cluster: dict[str, Any], associate_key: str | None) -> list[Update]:
        """(API operation, request) pairs, in the order they are applied."""
        updates: list[Update] = []
        vpc = cluster.get("resourcesVpcConfig") or {}
        # The endpoint request always states the end state of both switches (and the CIDRs when
        # they are managed), not only the part that differs.
        endpoint: dict[str, Any] = {
            "endpointPublicAccess": self.params["endpoint_public_access"],
            "endpointPrivateAccess": self.params["endpoint_private_access"],
        }
        cidrs = self.params["public_access_cidrs"]
        if cidrs is not None:
            endpoint["publicAccessCidrs"] = cidrs
        if any(
            set(value) != set(vpc.get(key) or []) if isinstance(value, list) else value != vpc.get(key)
            for key, value in endpoint.items()
        ):
            updates.append(("update_cluster_config", {"resourcesVpcConfig": endpoint}))
        logs = self.params["logging"]
        if logs is not None and sorted(set(logs)) != enabled_logs(cluster):
            updates.append(("update_cluster_config", {"logging": logging_request(logs)}))
        mode = self.params["authentication_mode"]
        current_mode = (cluster.get("accessConfig") or {}).get("authenticationMode")
        # A cluster whose answer has no accessConfig cannot be compared: its mode is left alone.
        if current_mode and current_mode != mode:
            updates.append(("update_cluster_config", {"accessConfig": {"authenticationMode": mode}}))
        if associate_key:
            encryption = [{"resources": ["secrets"], "provider": {"keyArn": associate_key}}]
            updates.append(("associate_encryption_config", {"encryptionConfig": encryption}))
        version = self.params["version"]
        if version and parse_version(version) != parse_version(cluster.get("version", "")):
            updates.append(("update_cluster_version", {"version": version}))
        return updates

    @staticmethod
    def project(cluster: dict[str, Any], updates: list[Update]) -> dict[str, Any]:
        """The cluster as it will be once the updates are done."""
        after = dict(cluster)
        for operation, request in updates:
            if "resourcesVpcConfig" in request:
                after["resourcesVpcConfig"] = {
                    **(cluster.get("resourcesVpcConfig") or {}),
                    **request["resourcesVpcConfig"],
                }
            if "logging" in request:
                after["logging"] = request["logging"]
            if "accessConfig" in request:
                after["accessConfig"] = {**(cluster.get("accessConfig") or {}), **request["accessConfig"]}
            if operation == "associate_encryption_config":
                after["encryptionConfig"] = request["encryptionConfig"]
            if "version" in request:
                after["version"] = request["version"]
        return after

    def update(self, cluster: dict[str, Any]) -> dict[str, Any]:
        fixed = self.check_fixed(cluster)
        updates = self.plan_updates(cluster, fixed["associate_key"])
        if updates and cluster.get("status") in BUSY and not self.module.check_mode:
            # Still creating or updating (a run stopped while it waited, say mid-upgrade): EKS reports the
            # old settings until then. Compare once it has settled, or the same update would be asked again.
            cluster = self.wait({"ACTIVE"}, {"FAILED"}) or cluster
            fixed = self.check_fixed(cluster)
            updates = self.plan_updates(cluster, fixed["associate_key"])
        to_set, to_unset = tag_changes(cluster.get("tags"), self.params["tags"], self.params["purge_tags"])
        after = self.project(cluster, updates)
        after["tags"] = tags_after(cluster.get("tags"), to_set, to_unset)
        self.diff = {"before": self.view(cluster), "after": self.view(after)}

        if apply_tags(self.module, self.client, cluster["arn"], to_set, to_unset):
            self.changed = True
        if updates:
            self.changed = True
        if self.module.check_mode:
            if updates:
                after["status"] = "UPDATING"
            return after

        for index, (operation, request) in enumerate(updates):
            self.run_update(operation, request, wait=self.params["wait"] or index < len(updates) - 1)

        if not self.params["wait"]:
            return (self.describe() or after) if self.changed else cluster
        if not updates and cluster.get("status") == "ACTIVE":
            # The fast path: nothing started, nothing to wait for. Tags do not change the status.
            return after
        return self.wait({"ACTIVE"}, {"FAILED"})

    def run_update(self, operation: str, request: dict[str, Any], *, wait: bool) -> None:
        # EKS refuses an update while another one runs (ResourceInUseException): settle first.
        self.wait({"ACTIVE"}, {"FAILED"})
        what = ", ".join(sorted(request))
        try:
            call = getattr(self.client, operation)
            answer = call(aws_retry=True, **{NAME_PARAMETER.get(operation, "name"): self.name}, **request)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(
                e, msg=f"Couldn't update {what} of cluster {self.name}", changed=self.changed
            )
        if not wait:
            return
        update_id = (answer.get("update") or {}).get("id")
        if not update_id:
            # No update to follow in the answer: the cluster status is all there is to watch.
            self.wait({"ACTIVE"}, {"FAILED"})
            return
        try:
            wait_for_update(
                self.client,
                cluster_name=self.name,
                update_id=update_id,
                deadline=self.deadline,
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            self.module.fail_json(
                msg=f"Update of {what} of cluster {self.name}: {e}. {update_errors(e.resource)}".strip(),
                changed=self.changed,
                update=to_result(e.resource),
            )

    # --- absent ------------------------------------------------------------------------------

    def ensure_absent(self) -> dict[str, Any] | None:
        """Delete the cluster; returns it as found before (None when there was none)."""
        cluster = self.describe()
        self.diff = {"before": self.view(cluster), "after": {}}
        if cluster is None:
            return None
        if cluster.get("status") != "DELETING":
            self.changed = True
            if self.module.check_mode:
                return cluster
            try:
                self.client.delete_cluster(aws_retry=True, name=self.name)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.module.fail_json_aws(e, msg=f"Couldn't delete cluster {self.name}")
        if self.params["wait"]:
            self.wait({GONE}, {"FAILED"})
        return cluster

    # --- waiting -----------------------------------------------------------------------------

    def wait(self, want: set[str], fail_on: set[str]) -> dict[str, Any] | None:
        return wait_or_fail(
            self.module,
            self.describe,
            want=want,
            fail_on=fail_on,
            deadline=self.deadline,
            what=f"Cluster {self.name}",
            max_delay=MAX_DELAY,
            changed=self.changed,
        )


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        version=dict(type="str"),
        role_arn=dict(type="str"),
        subnets=dict(type="list", elements="str"),
        security_groups=dict(type="list", elements="str"),
        endpoint_public_access=dict(type="bool", default=True),
        endpoint_private_access=dict(type="bool", default=True),
        public_access_cidrs=dict(type="list", elements="str"),
        logging=dict(type="list", elements="str", choices=list(LOG_TYPES)),
        encryption_kms_key_arn=dict(type="str", no_log=False),
        authentication_mode=dict(
            type="str", choices=["API", "API_AND_CONFIG_MAP", "CONFIG_MAP"], default="API_AND_CONFIG_MAP"
        ),
        **TAGGING_ARGUMENT_SPEC,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **waiting_argument_spec(1800),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    check_wait_timeout(module)

    client = module.client("eks", retry_decorator=AWSRetry.jittered_backoff())
    manager = ClusterManager(module, client)
    result: dict[str, Any] = {}
    if module.params["state"] == "present":
        result = to_result(manager.ensure_present())
    else:
        found = manager.ensure_absent()
        if found:
            result["deleted"] = to_result(found)
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()
