#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eks_nodegroup
version_added: 0.1.0
short_description: Manage Amazon EKS managed node groups
description:
  - Create, update and delete a managed node group of an existing Amazon EKS cluster.
  - Unlike M(community.aws.eks_nodegroup), this module changes the tags, Kubernetes labels (values
    included) and taints of an existing node group, reports that drift in check mode, offers the
    AL2023 AMI types, and keeps the desired size cluster-autoscaler chose.
  - EKS runs one update of a node group at a time. Labels, taints, size and update settings go in
    one UpdateNodegroupConfig call; a Kubernetes or AMI version change (UpdateNodegroupVersion)
    follows once that update has finished, whatever O(wait) says. Tags are changed at once
    (TagResource / UntagResource), without an update.
  - What EKS fixes when the node group is created (O(node_role), O(subnets), O(instance_types),
    O(capacity_type), O(ami_type), O(disk_size), whether it has a launch template and which) must
    match the node group, or the task fails naming the parameter before any change. Replacing a
    node group (a new one, then draining and deleting the old) is a procedure, not something a
    converge should do on its own.
author:
  - Science platform deployment kit maintainers
options:
  cluster_name:
    description: Name of the EKS cluster the node group belongs to.
    type: str
    required: true
  name:
    description: Name of the node group.
    type: str
    required: true
    aliases: [nodegroup_name]
  node_role:
    description:
      - ARN of the IAM role of the nodes. Required to create a node group; fixed once it exists.
    type: str
  subnets:
    description:
      - IDs of the subnets the nodes are started in. Required to create a node group; fixed once it
        exists (compared as a set).
    type: list
    elements: str
  instance_types:
    description:
      - EC2 instance types of the nodes. EKS uses V(t3.medium) when omitted at creation.
      - Fixed once the node group exists (compared in order, since on-demand groups use the first
        type first).
    type: list
    elements: str
  capacity_type:
    description:
      - On-demand, spot or capacity-block instances. EKS uses V(ON_DEMAND) when omitted at creation.
      - Fixed once the node group exists.
    type: str
    choices: [ON_DEMAND, SPOT, CAPACITY_BLOCK]
  ami_type:
    description:
      - AMI type of the nodes, as EKS names them (botocore's C(AMITypes)).
      - EKS publishes Amazon Linux 2 (C(AL2_*)) AMIs up to Kubernetes 1.32 only; use C(AL2023_*) or
        C(BOTTLEROCKET_*) for later versions.
      - Fixed once the node group exists.
    type: str
    choices:
      - AL2_x86_64
      - AL2_x86_64_GPU
      - AL2_ARM_64
      - CUSTOM
      - BOTTLEROCKET_ARM_64
      - BOTTLEROCKET_x86_64
      - BOTTLEROCKET_ARM_64_FIPS
      - BOTTLEROCKET_x86_64_FIPS
      - BOTTLEROCKET_ARM_64_NVIDIA
      - BOTTLEROCKET_x86_64_NVIDIA
      - BOTTLEROCKET_ARM_64_NVIDIA_FIPS
      - BOTTLEROCKET_x86_64_NVIDIA_FIPS
      - WINDOWS_CORE_2019_x86_64
      - WINDOWS_FULL_2019_x86_64
      - WINDOWS_CORE_2022_x86_64
      - WINDOWS_FULL_2022_x86_64
      - WINDOWS_CORE_2025_x86_64
      - WINDOWS_FULL_2025_x86_64
      - AL2023_x86_64_STANDARD
      - AL2023_ARM_64_STANDARD
      - AL2023_x86_64_NEURON
      - AL2023_x86_64_NVIDIA
      - AL2023_ARM_64_NVIDIA
  disk_size:
    description:
      - GiB of each node's volume (with Bottlerocket, the data volume). EKS uses 20 when omitted at
        creation. Fixed once the node group exists.
      - Not with O(launch_template) (EKS refuses both; the template's block device mappings give
        the volumes then).
    type: int
  launch_template:
    description:
      - The EC2 launch template the nodes start from (for example IMDSv2 with a hop limit of 1 and
        encrypted volumes), by ID or by name, and its version.
      - Only at creation can a node group get a launch template, and it keeps that template for life.
        A different O(launch_template.version) starts UpdateNodegroupVersion (a rolling replacement of
        the nodes); asking a template of a node group created without one, or another template, fails
        naming the parameter before any change (replace the node group instead).
    type: dict
    suboptions:
      id:
        description: ID of the launch template (lt-...). Not with O(launch_template.name).
        type: str
      name:
        description: Name of the launch template. Not with O(launch_template.id).
        type: str
      version:
        description:
          - Version of the launch template (a number, as a string). When omitted, EKS uses the
            template's default version at creation, and an existing node group keeps its version.
        type: str
  scaling_config:
    description:
      - Size of the node group. When omitted, a new group gets EKS's default and an existing one keeps
        its size.
    type: dict
    suboptions:
      min_size:
        description: Fewest nodes (0 or more; 0 lets cluster-autoscaler scale the group to zero).
        type: int
        required: true
      max_size:
        description: Most nodes (1 or more, at least O(scaling_config.min_size)).
        type: int
        required: true
      desired_size:
        description:
          - Nodes to run. Default O(scaling_config.min_size) at creation.
          - On an existing node group, see O(desired_size_only_on_create).
        type: int
  desired_size_only_on_create:
    description:
      - When true, O(scaling_config.desired_size) is used only to create the node group. Afterwards
        the current desired size is kept (cluster-autoscaler owns it), unless it falls outside
        O(scaling_config.min_size)..O(scaling_config.max_size), when it is brought to the nearer bound.
      - When false, an existing node group is brought to O(scaling_config.desired_size) (when given).
    type: bool
    default: true
  update_config:
    description:
      - How many nodes EKS may replace at once during a version update. When omitted, it is not
        managed (EKS's default is one node).
    type: dict
    suboptions:
      max_unavailable:
        description: Number of nodes (1 to 100).
        type: int
      max_unavailable_percentage:
        description: Percentage of the nodes (1 to 100).
        type: int
  labels:
    description:
      - Kubernetes labels of the nodes; the full set. Labels the node group has and this does not list
        are removed, a changed value is updated. V({}) removes all.
      - When omitted, labels are not managed.
    type: dict
  taints:
    description:
      - Kubernetes taints of the nodes; the full set. A taint is known by its key and effect, so a
        taint the node group has and this does not list is removed, and a changed value is updated.
        V([]) removes all.
      - When omitted, taints are not managed.
    type: list
    elements: dict
    suboptions:
      key:
        description: Taint key.
        type: str
        required: true
      value:
        description: Taint value (may be empty).
        type: str
        default: ""
      effect:
        description: Taint effect, as EKS spells it.
        type: str
        required: true
        choices: [NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE]
  version:
    description:
      - Kubernetes version of the nodes, for example V(1.33). When omitted, a new node group gets the
        cluster's version and an existing one keeps its own.
      - A higher version than the node group's starts UpdateNodegroupVersion (a rolling replacement
        of the nodes); a lower one fails, EKS never downgrades.
    type: str
  release_version:
    description:
      - AMI release version of the nodes (C(aws eks describe-nodegroup) shows the current one). When
        omitted, a new node group gets the latest for its version and an existing one keeps its own.
      - A different release starts UpdateNodegroupVersion.
    type: str
  state:
    description: Whether the node group should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the node group is ACTIVE and its last update has finished (O(state=present)), or
        until it is gone (O(state=absent)).
      - With O(wait=true) a node group that is still being created or updated is first waited for,
        and then compared; so O(wait=false) can start several node groups at once and a second task
        with O(wait=true) waits for them (at once, with read calls only, for the ones already ACTIVE).
      - A node group that ends C(DEGRADED) (EKS reports health issues, often capacity) is returned
        with a warning naming its issues; C(CREATE_FAILED) and a failed update fail the task.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the whole task may spend waiting (creating a node group takes about four minutes).
    type: int
    default: 1200
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - With a launch template EKS reports no disk size (the template has the volumes), and fields a
    launch template sets are not compared when EKS does not report them.
"""

EXAMPLES = r"""
- name: Start the node groups without waiting.
  sciplat.platform.eks_nodegroup:
    cluster_name: sciplat
    name: "{{ item.name }}"
    node_role: arn:aws:iam::123456789012:role/sciplat-eks-node
    subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]
    instance_types: "{{ item.instance_types }}"
    capacity_type: "{{ item.capacity_type }}"
    ami_type: AL2023_x86_64_STANDARD
    disk_size: 100
    scaling_config: {min_size: 0, max_size: 10, desired_size: 0}
    update_config: {max_unavailable: 1}
    labels:
      hub.jupyter.org/node-purpose: user
    taints:
      - {key: hub.jupyter.org/dedicated, value: user, effect: NO_SCHEDULE}
    tags:
      k8s.io/cluster-autoscaler/enabled: "true"
    wait: false
  loop:
    - {name: core, instance_types: [m6i.large], capacity_type: ON_DEMAND}
    - {name: user, instance_types: [m6i.xlarge, m5.xlarge], capacity_type: SPOT}

- name: Roll the nodes to the cluster's new Kubernetes version.
  sciplat.platform.eks_nodegroup:
    cluster_name: sciplat
    name: core
    version: "1.33"
    update_config: {max_unavailable_percentage: 33}

- name: Delete a node group.
  sciplat.platform.eks_nodegroup:
    cluster_name: sciplat
    name: user-old
    state: absent
"""

RETURN = r"""
nodegroup_name:
  description: Name of the node group.
  returned: when state is present
  type: str
  sample: user
cluster_name:
  description: Name of the cluster.
  returned: when state is present
  type: str
  sample: sciplat
nodegroup_arn:
  description: ARN of the node group.
  returned: when the node group exists
  type: str
  sample: arn:aws:eks:us-east-1:123456789012:nodegroup/sciplat/user/0ab1c2d3-0000-1111-2222-333344445555
status:
  description: Status of the node group when the module returned.
  returned: when state is present
  type: str
  sample: ACTIVE
version:
  description: Kubernetes version of the nodes.
  returned: when state is present
  type: str
  sample: "1.33"
release_version:
  description: AMI release version of the nodes.
  returned: when the node group exists
  type: str
  sample: 1.33.0-20250704
capacity_type:
  description: ON_DEMAND, SPOT or CAPACITY_BLOCK.
  returned: when state is present
  type: str
instance_types:
  description: EC2 instance types.
  returned: when state is present
  type: list
  elements: str
ami_type:
  description: AMI type.
  returned: when state is present
  type: str
  sample: AL2023_x86_64_STANDARD
disk_size:
  description: GiB of each node's volume.
  returned: when EKS reports it
  type: int
launch_template:
  description: The node group's launch template (id, name, version).
  returned: when the node group has one
  type: dict
  sample: {"id": "lt-0123456789abcdef0", "name": "sciplat-user", "version": "2"}
node_role:
  description: IAM role of the nodes.
  returned: when state is present
  type: str
subnets:
  description: Subnets of the nodes.
  returned: when state is present
  type: list
  elements: str
scaling_config:
  description: Size of the node group.
  returned: when state is present
  type: dict
  sample: {"min_size": 0, "max_size": 10, "desired_size": 3}
update_config:
  description: How many nodes EKS replaces at once.
  returned: when EKS reports it
  type: dict
  sample: {"max_unavailable": 1}
labels:
  description: Kubernetes labels of the nodes (keys as they are).
  returned: when state is present
  type: dict
  sample: {"hub.jupyter.org/node-purpose": "user"}
taints:
  description: Kubernetes taints of the nodes.
  returned: when the node group has taints
  type: list
  elements: dict
  sample: [{"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NO_SCHEDULE"}]
health:
  description: Health of the node group.
  returned: when the node group exists
  type: dict
  contains:
    issues:
      description: Problems EKS found, each with C(code), C(message) and C(resource_ids).
      type: list
      elements: dict
resources:
  description: The Auto Scaling groups (and remote access security group) behind the node group.
  returned: when the node group exists
  type: dict
tags:
  description: Tags of the node group.
  returned: when state is present
  type: dict
  sample: {"k8s.io/cluster-autoscaler/enabled": "true"}
update:
  description: The last update the module followed, when it failed.
  returned: when an update failed
  type: dict
"""

import contextlib
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

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

# botocore's eks service model, shape AMITypes (a unit test keeps the two in step).
AMI_TYPES = [
    "AL2_x86_64",
    "AL2_x86_64_GPU",
    "AL2_ARM_64",
    "CUSTOM",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64_FIPS",
    "BOTTLEROCKET_x86_64_FIPS",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA_FIPS",
    "BOTTLEROCKET_x86_64_NVIDIA_FIPS",
    "WINDOWS_CORE_2019_x86_64",
    "WINDOWS_FULL_2019_x86_64",
    "WINDOWS_CORE_2022_x86_64",
    "WINDOWS_FULL_2022_x86_64",
    "WINDOWS_CORE_2025_x86_64",
    "WINDOWS_FULL_2025_x86_64",
    "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NEURON",
    "AL2023_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
]
CAPACITY_TYPES = ["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"]
TAINT_EFFECTS = ["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]

# Statuses during which EKS refuses another update (ResourceInUseException).
BUSY = {"CREATING", "UPDATING"}
# Statuses a node group reaches when its work is done; DEGRADED still serves and accepts updates.
SETTLED = {"ACTIVE", "DEGRADED"}
# Statuses a node group cannot leave without a new request: a wait stops there.
FAILED = {"CREATE_FAILED", "DELETE_FAILED"}
MAX_DELAY = 30.0

# What EKS fixes at creation: parameter, field of the node group, its name in messages, whether
# order matters.
FIXED = (
    ("node_role", "nodeRole", "IAM role", True),
    ("subnets", "subnets", "subnets", False),
    ("instance_types", "instanceTypes", "instance types", True),
    ("capacity_type", "capacityType", "capacity type", True),
    ("ami_type", "amiType", "AMI type", True),
    ("disk_size", "diskSize", "disk size", True),
)
UPDATE_CONFIG_KEYS = {
    "max_unavailable": "maxUnavailable",
    "max_unavailable_percentage": "maxUnavailablePercentage",
}


def parse_version(version: str | None) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", (version or "").strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def taint_id(taint: dict[str, Any]) -> tuple[str, str]:
    """EKS and Kubernetes know a taint by its key and effect; the value can change in place."""
    return (taint["key"], taint["effect"])


def normal_taints(taints: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Taints as ``{key, value, effect}`` (an absent value is empty), sorted for comparison."""
    found = [{"key": t["key"], "value": t.get("value") or "", "effect": t["effect"]} for t in taints or []]
    return sorted(found, key=lambda t: (t["key"], t["effect"]))


def request_taint(taint: dict[str, str]) -> dict[str, str]:
    """A taint for a request: the value left out when empty."""
    return {k: v for k, v in taint.items() if k != "value" or v}


class NodegroupManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.cluster_name: str = module.params["cluster_name"]
        self.name: str = module.params["name"]
        self.what = f"Node group {self.name} of cluster {self.cluster_name}"
        self.deadline = Deadline(module.params["wait_timeout"])
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    # --- reads -------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any] | None:
        try:
            return describe_or_none(
                self.client.describe_nodegroup,
                "nodegroup",
                clusterName=self.cluster_name,
                nodegroupName=self.name,
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(
                e, msg=f"Couldn't describe node group {self.name} of {self.cluster_name}"
            )

    @staticmethod
    def view(nodegroup: dict[str, Any] | None) -> dict[str, Any]:
        """The managed fields, for the diff."""
        if not nodegroup:
            return {}
        scaling = nodegroup.get("scalingConfig") or {}
        update_config = nodegroup.get("updateConfig") or {}
        return {
            "node_role": nodegroup.get("nodeRole"),
            "subnets": sorted(nodegroup.get("subnets") or []),
            "instance_types": list(nodegroup.get("instanceTypes") or []),
            "capacity_type": nodegroup.get("capacityType"),
            "ami_type": nodegroup.get("amiType"),
            "disk_size": nodegroup.get("diskSize"),
            "launch_template": dict(nodegroup.get("launchTemplate") or {}),
            "scaling_config": {
                "min_size": scaling.get("minSize"),
                "max_size": scaling.get("maxSize"),
                "desired_size": scaling.get("desiredSize"),
            },
            "update_config": {
                k: update_config[v] for k, v in UPDATE_CONFIG_KEYS.items() if v in update_config
            },
            "labels": dict(nodegroup.get("labels") or {}),
            "taints": normal_taints(nodegroup.get("taints")),
            "version": nodegroup.get("version"),
            "release_version": nodegroup.get("releaseVersion"),
            "tags": dict(nodegroup.get("tags") or {}),
        }

    # --- desired state -----------------------------------------------------------------------

    def check_params(self) -> None:
        """Fail on requests EKS would refuse, before any call."""
        scaling = self.params["scaling_config"]
        if scaling is not None:
            low, high, want = scaling["min_size"], scaling["max_size"], scaling["desired_size"]
            if low < 0:
                self.module.fail_json(msg=f"scaling_config.min_size must be 0 or more, got {low}")
            if high < 1:
                self.module.fail_json(msg=f"scaling_config.max_size must be 1 or more, got {high}")
            if low > high:
                self.module.fail_json(
                    msg=f"scaling_config.min_size ({low}) must not exceed scaling_config.max_size ({high})"
                )
            if want is not None and not low <= want <= high:
                self.module.fail_json(
                    msg=f"scaling_config.desired_size ({want}) must lie between scaling_config.min_size"
                    f" ({low}) and scaling_config.max_size ({high})"
                )
        for key, value in (self.params["update_config"] or {}).items():
            if value is not None and not 1 <= value <= 100:
                self.module.fail_json(msg=f"update_config.{key} must be 1 to 100, got {value}")
        seen: set[tuple[str, str]] = set()
        for taint in self.params["taints"] or []:
            if taint_id(taint) in seen:
                self.module.fail_json(
                    msg=f"taints: key {taint['key']} with effect {taint['effect']} is listed twice;"
                    " a node group has one taint per key and effect"
                )
            seen.add(taint_id(taint))
        version = self.params["version"]
        if version is not None and parse_version(version) is None:
            self.module.fail_json(msg=f"version must look like 1.33 (major.minor), got {version!r}")

    def desired_labels(self) -> dict[str, str] | None:
        labels = self.params["labels"]
        return None if labels is None else {str(k): str(v) for k, v in labels.items()}

    def desired_taints(self) -> list[dict[str, str]] | None:
        taints = self.params["taints"]
        return None if taints is None else normal_taints(taints)

    def desired_launch_template(self) -> dict[str, str] | None:
        wanted = self.params["launch_template"]
        return None if wanted is None else {k: v for k, v in wanted.items() if v is not None}

    def check_launch_template(self, nodegroup: dict[str, Any]) -> None:
        """Fail, naming the parameter, when the node group cannot take the asked launch template:
        UpdateNodegroupVersion changes only the version of the template a node group was created with."""
        wanted = self.desired_launch_template()
        if wanted is None:
            return
        current = nodegroup.get("launchTemplate") or {}
        if not current:
            self.module.fail_json(
                msg=f"launch_template: existing node group {self.name} of cluster {self.cluster_name}"
                " was created without a launch template, and EKS cannot give it one in place"
                " (UpdateNodegroupVersion changes only the version of the launch template a node group"
                " already has); replace the node group (create one with a new name, then delete this one)"
            )
        for key in ("id", "name"):
            if key in wanted and current.get(key) and wanted[key] != current[key]:
                self.module.fail_json(
                    msg=f"launch_template: the launch template of existing node group {self.name}"
                    f" of cluster {self.cluster_name} cannot change (it has {key} {current[key]!r},"
                    f" asked {wanted[key]!r}); only its version can; replace the node group"
                    " (create one with a new name, then delete this one)"
                )

    def desired_update_config(self) -> dict[str, int] | None:
        wanted = self.params["update_config"]
        if wanted is None:
            return None
        return {UPDATE_CONFIG_KEYS[k]: v for k, v in wanted.items() if v is not None}

    def desired_scaling(self, current: dict[str, Any] | None) -> dict[str, int] | None:
        """The scaling config to have; ``current`` is the node group's (None for a new one)."""
        wanted = self.params["scaling_config"]
        if wanted is None:
            return None
        low, high, size = wanted["min_size"], wanted["max_size"], wanted["desired_size"]
        if current is None:
            desired = low if size is None else size
        elif size is None or self.params["desired_size_only_on_create"]:
            # The size cluster-autoscaler chose, brought within the new bounds.
            have = current.get("desiredSize")
            desired = min(max(low if have is None else have, low), high)
        else:
            desired = size
        return {"minSize": low, "maxSize": high, "desiredSize": desired}

    # --- present -----------------------------------------------------------------------------

    def ensure_present(self) -> dict[str, Any]:
        self.check_params()
        nodegroup = self.describe()
        if nodegroup is not None and nodegroup.get("status") == "DELETING":
            # Being deleted: create it again once it is gone (in check mode: report the creation).
            nodegroup = None if self.module.check_mode else self.wait({GONE}, {"DELETE_FAILED"})
        if nodegroup is None:
            return self.create()
        if nodegroup.get("status") in FAILED:
            self.module.fail_json(
                msg=f"{self.what} is {nodegroup['status']}: {format_issues(health_issues(nodegroup))};"
                " delete it (state=absent) and create it again",
                **to_result(nodegroup, keep=["labels"]),
            )
        return self.update(nodegroup)

    def create(self) -> dict[str, Any]:
        missing = [p for p in ("node_role", "subnets") if not self.params[p]]
        if missing:
            self.module.fail_json(msg=f"{' and '.join(missing)} required to create node group {self.name}")
        request: dict[str, Any] = {
            "clusterName": self.cluster_name,
            "nodegroupName": self.name,
            "nodeRole": self.params["node_role"],
            "subnets": self.params["subnets"],
        }
        optional = {
            "instanceTypes": self.params["instance_types"],
            "capacityType": self.params["capacity_type"],
            "amiType": self.params["ami_type"],
            "diskSize": self.params["disk_size"],
            "launchTemplate": self.desired_launch_template(),
            "scalingConfig": self.desired_scaling(None),
            "updateConfig": self.desired_update_config(),
            "labels": self.desired_labels() or None,
            "taints": [request_taint(t) for t in self.desired_taints() or []] or None,
            "tags": {k: str(v) for k, v in (self.params["tags"] or {}).items()} or None,
            "version": self.params["version"],
            "releaseVersion": self.params["release_version"],
        }
        request.update({k: v for k, v in optional.items() if v is not None})

        planned = dict(request, status="CREATING")
        self.changed = True
        self.diff = {"before": {}, "after": self.view(planned)}
        if self.module.check_mode:
            return planned
        try:
            nodegroup = self.client.create_nodegroup(aws_retry=True, **request)["nodegroup"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't create node group {self.name} of {self.cluster_name}")
        if self.params["wait"]:
            nodegroup = self.settle()
        return nodegroup

    def check_fixed(self, nodegroup: dict[str, Any]) -> None:
        """Fail, naming the parameter, when a field EKS fixes at creation differs."""
        for parameter, field, words, ordered in FIXED:
            wanted, current = self.params[parameter], nodegroup.get(field)
            if wanted is None or current is None:
                continue
            same = wanted == current if ordered else sorted(wanted) == sorted(current)
            if not same:
                self.module.fail_json(
                    msg=f"{parameter}: the {words} of existing node group {self.name}"
                    f" of cluster {self.cluster_name} cannot change (it has {current!r}, asked {wanted!r});"
                    " replace the node group (create one with a new name, then delete this one)"
                )

    def plan_config(self, nodegroup: dict[str, Any]) -> dict[str, Any]:
        """The one UpdateNodegroupConfig request (without the names) that brings the node group in
        line: labels, taints, size and update settings together. Empty when nothing differs."""
        request: dict[str, Any] = {}
        labels = self.desired_labels()
        if labels is not None:
            current = nodegroup.get("labels") or {}
            add = {k: v for k, v in labels.items() if current.get(k) != v}
            remove = sorted(k for k in current if k not in labels)
            payload = {"addOrUpdateLabels": add, "removeLabels": remove}
            if add or remove:
                request["labels"] = {k: v for k, v in payload.items() if v}
        taints = self.desired_taints()
        if taints is not None:
            current_taints = normal_taints(nodegroup.get("taints"))
            add_taints = [t for t in taints if t not in current_taints]
            wanted_ids = {taint_id(t) for t in taints}
            remove_taints = [t for t in current_taints if taint_id(t) not in wanted_ids]
            payload = {
                "addOrUpdateTaints": [request_taint(t) for t in add_taints],
                "removeTaints": [request_taint(t) for t in remove_taints],
            }
            if add_taints or remove_taints:
                request["taints"] = {k: v for k, v in payload.items() if v}
        current_scaling = nodegroup.get("scalingConfig") or {}
        scaling = self.desired_scaling(current_scaling)
        if scaling is not None and any(current_scaling.get(k) != v for k, v in scaling.items()):
            request["scalingConfig"] = scaling
        update_config = self.desired_update_config()
        if update_config is not None:
            current_update = nodegroup.get("updateConfig") or {}
            have = {v: current_update[v] for v in UPDATE_CONFIG_KEYS.values() if v in current_update}
            if have != update_config:
                request["updateConfig"] = update_config
        return request

    def plan_version(self, nodegroup: dict[str, Any]) -> dict[str, Any]:
        """The UpdateNodegroupVersion request (without the names), empty when nothing differs."""
        request: dict[str, Any] = {}
        version, current = self.params["version"], nodegroup.get("version")
        if version and parse_version(version) != parse_version(current):
            have, want = parse_version(current), parse_version(version)
            if have and want and want < have:
                self.module.fail_json(
                    msg=f"version: EKS cannot downgrade node group {self.name}"
                    f" (it runs {current}, asked {version})"
                )
            request["version"] = version
        release = self.params["release_version"]
        if release and release != nodegroup.get("releaseVersion"):
            request["releaseVersion"] = release
        template = self.desired_launch_template() or {}
        current = nodegroup.get("launchTemplate") or {}
        if current and template.get("version") and str(template["version"]) != str(current.get("version")):
            # The template the node group has, by its ID, at the asked version.
            request["launchTemplate"] = {"id": current["id"], "version": str(template["version"])}
        return request

    @staticmethod
    def project(nodegroup: dict[str, Any], config: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
        """The node group as it will be once the updates are done."""
        after = dict(nodegroup)
        if "labels" in config:
            labels = {k: v for k, v in (nodegroup.get("labels") or {}).items()}
            for key in config["labels"].get("removeLabels", []):
                labels.pop(key, None)
            labels.update(config["labels"].get("addOrUpdateLabels", {}))
            after["labels"] = labels
        if "taints" in config:
            taints = {taint_id(t): t for t in normal_taints(nodegroup.get("taints"))}
            for taint in normal_taints(config["taints"].get("removeTaints")):
                taints.pop(taint_id(taint), None)
            for taint in normal_taints(config["taints"].get("addOrUpdateTaints")):
                taints[taint_id(taint)] = taint
            after["taints"] = list(taints.values())
        if "scalingConfig" in config:
            after["scalingConfig"] = config["scalingConfig"]
        if "updateConfig" in config:
            kept = {
                k: v
                for k, v in (nodegroup.get("updateConfig") or {}).items()
                if k not in UPDATE_CONFIG_KEYS.values()
            }
            after["updateConfig"] = {**kept, **config["updateConfig"]}
        after.update({k: v for k, v in version.items() if k != "launchTemplate"})
        if "launchTemplate" in version:
            after["launchTemplate"] = {**(nodegroup.get("launchTemplate") or {}), **version["launchTemplate"]}
        return after

    def update(self, nodegroup: dict[str, Any]) -> dict[str, Any]:
        self.check_fixed(nodegroup)
        self.check_launch_template(nodegroup)
        # Still being created or updated: EKS refuses another update meanwhile, and what it reports
        # may not be the end state yet. Compare once it has settled, when asked to wait or when
        # something is to change.
        busy = nodegroup.get("status") in BUSY and not self.module.check_mode
        if busy and (self.params["wait"] or self.plan_config(nodegroup) or self.plan_version(nodegroup)):
            nodegroup = self.settle()
        config = self.plan_config(nodegroup)
        version = self.plan_version(nodegroup)
        to_set, to_unset = tag_changes(nodegroup.get("tags"), self.params["tags"], self.params["purge_tags"])

        after = self.project(nodegroup, config, version)
        after["tags"] = tags_after(nodegroup.get("tags"), to_set, to_unset)
        self.diff = {"before": self.view(nodegroup), "after": self.view(after)}
        if config or version:
            self.changed = True

        if apply_tags(self.module, self.client, nodegroup["nodegroupArn"], to_set, to_unset):
            self.changed = True
        if self.module.check_mode:
            if config or version:
                after["status"] = "UPDATING"
            return after

        update_id = None
        if config:
            update_id = self.start_update("update_nodegroup_config", config)
        if version:
            if update_id:
                # One update at a time: the configuration first, then the nodes' version.
                self.follow(update_id, config)
                self.settle()
            update_id = self.start_update("update_nodegroup_version", version)

        if not self.params["wait"]:
            return (self.describe() or after) if config or version else after
        if update_id:
            self.follow(update_id, version or config)
        if config or version:
            return self.settle()
        return after

    def start_update(self, operation: str, request: dict[str, Any]) -> str | None:
        try:
            answer = getattr(self.client, operation)(
                aws_retry=True, clusterName=self.cluster_name, nodegroupName=self.name, **request
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(
                e, msg=f"Couldn't update {', '.join(sorted(request))} of {self.what}", changed=self.changed
            )
        return (answer.get("update") or {}).get("id")

    def follow(self, update_id: str, request: dict[str, Any]) -> None:
        """Wait for one update to finish; a failed one fails the task with EKS's errors."""
        try:
            wait_for_update(
                self.client,
                cluster_name=self.cluster_name,
                nodegroup_name=self.name,
                update_id=update_id,
                deadline=self.deadline,
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            what = ", ".join(sorted(request))
            self.module.fail_json(
                msg=f"Update of {what} of {self.what}: {e}. {update_errors(e.resource)}".strip(),
                changed=self.changed,
                update=to_result(e.resource),
            )

    # --- absent ------------------------------------------------------------------------------

    def ensure_absent(self) -> None:
        nodegroup = self.describe()
        self.diff = {"before": self.view(nodegroup), "after": {}}
        if nodegroup is None:
            return
        if nodegroup.get("status") != "DELETING":
            self.changed = True
            if self.module.check_mode:
                return
            try:
                self.client.delete_nodegroup(
                    aws_retry=True, clusterName=self.cluster_name, nodegroupName=self.name
                )
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.module.fail_json_aws(
                    e, msg=f"Couldn't delete node group {self.name} of {self.cluster_name}"
                )
        if self.params["wait"]:
            self.wait({GONE}, {"DELETE_FAILED"})

    # --- waiting -----------------------------------------------------------------------------

    def settle(self) -> dict[str, Any]:
        """Wait until the node group is ACTIVE or DEGRADED (main() warns about the latter)."""
        nodegroup = self.wait(SETTLED, FAILED)
        assert nodegroup is not None  # GONE is not wanted
        return nodegroup

    def wait(self, want: set[str], fail_on: set[str]) -> dict[str, Any] | None:
        return wait_or_fail(
            self.module,
            self.describe,
            want=want,
            fail_on=fail_on,
            deadline=self.deadline,
            what=self.what,
            max_delay=MAX_DELAY,
            changed=self.changed,
            keep=["labels"],
        )


def main() -> None:
    argument_spec = dict(
        cluster_name=dict(type="str", required=True),
        name=dict(type="str", required=True, aliases=["nodegroup_name"]),
        node_role=dict(type="str"),
        subnets=dict(type="list", elements="str"),
        instance_types=dict(type="list", elements="str"),
        capacity_type=dict(type="str", choices=CAPACITY_TYPES),
        ami_type=dict(type="str", choices=AMI_TYPES),
        disk_size=dict(type="int"),
        launch_template=dict(
            type="dict",
            options=dict(
                id=dict(type="str"),
                name=dict(type="str"),
                version=dict(type="str"),
            ),
            mutually_exclusive=[("id", "name")],
            required_one_of=[("id", "name")],
        ),
        scaling_config=dict(
            type="dict",
            options=dict(
                min_size=dict(type="int", required=True),
                max_size=dict(type="int", required=True),
                desired_size=dict(type="int"),
            ),
        ),
        desired_size_only_on_create=dict(type="bool", default=True),
        update_config=dict(
            type="dict",
            options=dict(
                max_unavailable=dict(type="int"),
                max_unavailable_percentage=dict(type="int"),
            ),
            mutually_exclusive=[("max_unavailable", "max_unavailable_percentage")],
            required_one_of=[("max_unavailable", "max_unavailable_percentage")],
        ),
        labels=dict(type="dict"),
        taints=dict(
            type="list",
            elements="dict",
            options=dict(
                key=dict(type="str", required=True, no_log=False),
                value=dict(type="str", default=""),
                effect=dict(type="str", required=True, choices=TAINT_EFFECTS),
            ),
        ),
        version=dict(type="str"),
        release_version=dict(type="str"),
        **TAGGING_ARGUMENT_SPEC,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **waiting_argument_spec(1200),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        # EKS refuses a disk size with a launch template: the template's block device mappings have it.
        mutually_exclusive=[("disk_size", "launch_template")],
    )
    check_wait_timeout(module)

    client = module.client("eks", retry_decorator=AWSRetry.jittered_backoff())
    manager = NodegroupManager(module, client)
    result: dict[str, Any] = {}
    if module.params["state"] == "present":
        nodegroup = manager.ensure_present()
        if nodegroup.get("status") == "DEGRADED":
            module.warn(f"{manager.what} is DEGRADED: {format_issues(health_issues(nodegroup))}")
        result = to_result(nodegroup, keep=["labels"])
    else:
        manager.ensure_absent()
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()
