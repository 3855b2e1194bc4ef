#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eks_addon
version_added: 0.1.0
short_description: Manage Amazon EKS add-ons
description:
  - Create, update and delete an Amazon EKS add-on (C(vpc-cni), C(coredns), C(kube-proxy),
    C(aws-efs-csi-driver), ...) on an existing cluster.
  - amazon.aws and community.aws have no module for EKS add-ons.
  - An existing add-on is updated only when its version, service account role or configuration
    differ from the requested ones; tags are changed in place.
  - O(wait=false) starts the work and returns, so a play can start several add-ons and wait for
    them later with the same task and O(wait=true). A call on an add-on that is already ACTIVE and
    matches returns at once (read calls only, no sleep) with C(changed=false).
author:
  - Science platform deployment kit maintainers
options:
  cluster_name:
    description: Name of the EKS cluster the add-on belongs to.
    type: str
    required: true
  name:
    description: Name of the add-on, as listed by C(aws eks describe-addon-versions).
    type: str
    required: true
    aliases: [addon_name]
  version:
    description:
      - Add-on version, for example C(v1.18.3-eksbuild.1).
      - When omitted, a new add-on gets the default version for the cluster's Kubernetes
        version (from DescribeAddonVersions); an existing add-on is upgraded to that default
        when it runs an older version, and is never downgraded.
    type: str
  service_account_role_arn:
    description:
      - ARN of the IAM role the add-on's service account assumes (IRSA).
      - When omitted the role is not managed.
    type: str
  configuration_values:
    description:
      - Add-on configuration, as a dictionary or a JSON (or YAML) string; validated by EKS against
        the schema from DescribeAddonConfiguration.
      - Compared by meaning, not by text, so key order and formatting do not cause updates.
      - V({}) removes a previous configuration. When omitted the configuration is not managed.
    type: raw
  resolve_conflicts:
    description:
      - How EKS treats fields of the add-on's Kubernetes objects that were changed outside EKS,
        when it creates or updates the add-on.
    type: str
    choices: [NONE, OVERWRITE, PRESERVE]
    default: OVERWRITE
  state:
    description: Whether the add-on should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the add-on is ACTIVE (O(state=present)) or gone (O(state=absent)).
      - Fails at once on C(CREATE_FAILED) or C(UPDATE_FAILED), and on C(DEGRADED) when the
        add-on is still degraded at the deadline, with the add-on's health issues in the message.
      - When an update is needed while the add-on is still being created or updated, the module
        waits for that first, whatever this option says.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the whole task may spend waiting.
    type: int
    default: 900
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
"""

EXAMPLES = r"""
- name: Start the networking add-ons without waiting.
  sciplat.platform.eks_addon:
    cluster_name: sciplat
    name: "{{ item }}"
    wait: false
  loop: [vpc-cni, coredns, kube-proxy]

- name: Install the EFS CSI driver with its IRSA role.
  sciplat.platform.eks_addon:
    cluster_name: sciplat
    name: aws-efs-csi-driver
    version: v2.1.4-eksbuild.1
    service_account_role_arn: arn:aws:iam::123456789012:role/sciplat-efs-csi
    configuration_values:
      controller:
        replicaCount: 1
    tags:
      site: archive
    wait: false

- name: Wait for all add-ons (returns at once for the ones already ACTIVE).
  sciplat.platform.eks_addon:
    cluster_name: sciplat
    name: "{{ item }}"
  loop: [vpc-cni, coredns, kube-proxy]

- name: Remove an add-on.
  sciplat.platform.eks_addon:
    cluster_name: sciplat
    name: aws-efs-csi-driver
    state: absent
"""

RETURN = r"""
addon_name:
  description: Name of the add-on.
  returned: when state is present
  type: str
  sample: coredns
cluster_name:
  description: Name of the cluster.
  returned: when state is present
  type: str
  sample: sciplat
addon_arn:
  description: ARN of the add-on.
  returned: when the add-on exists
  type: str
  sample: arn:aws:eks:us-east-1:123456789012:addon/sciplat/coredns/a1b2c3d4-0000-1111-2222-333344445555
addon_version:
  description: Version of the add-on.
  returned: when state is present
  type: str
  sample: v1.11.3-eksbuild.2
status:
  description: Status of the add-on when the module returned.
  returned: when state is present
  type: str
  sample: ACTIVE
health:
  description: Health of the add-on.
  returned: when the add-on exists
  type: dict
  contains:
    issues:
      description: Problems EKS found, each with C(code), C(message) and C(resource_ids).
      type: list
      elements: dict
  sample: {"issues": []}
service_account_role_arn:
  description: IAM role of the add-on's service account.
  returned: when one is set
  type: str
  sample: arn:aws:iam::123456789012:role/sciplat-efs-csi
configuration_values:
  description: Configuration of the add-on, as EKS stores it (a string).
  returned: when one is set
  type: str
  sample: '{"controller": {"replicaCount": 1}}'
tags:
  description: Tags of the add-on.
  returned: when state is present
  type: dict
  sample: {"site": "archive"}
created_at:
  description: Creation time.
  returned: when the add-on exists
  type: str
  sample: "2026-11-25T10:00:00+00:00"
modified_at:
  description: Time of the last change.
  returned: when the add-on exists
  type: str
  sample: "2026-11-25T10:05:00+00:00"
"""

import contextlib
import json
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.eks import addon_version_key as version_key
from ansible_collections.sciplat.platform.plugins.module_utils.eks import (
    addon_versions,
    apply_tags,
    is_default_for,
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
    check_wait_timeout,
    waiting_argument_spec,
)

# Statuses during which EKS refuses UpdateAddon (ResourceInUseException).
BUSY = {"CREATING", "UPDATING", "DELETING"}
# Statuses an add-on cannot leave without a new request: waiting for ACTIVE stops there.
# DEGRADED is not among them: it may recover, so the wait goes on until the deadline.
FAILED = {"CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED"}
# Statuses in which UpdateAddon is accepted.
SETTLED = {"ACTIVE", "DEGRADED", "CREATE_FAILED", "UPDATE_FAILED"}
MAX_DELAY = 15.0


def parse_configuration(value: Any, *, what: str) -> Any:
    """Configuration values (dict, JSON or YAML text) as data; ``{}`` for none."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a dict or a JSON/YAML string, got {type(value).__name__}")
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        import yaml  # ansible-core depends on PyYAML

        parsed = yaml.safe_load(value)
    except Exception as e:
        raise ValueError(f"{what} is neither JSON nor YAML: {e}") from e
    if not isinstance(parsed, dict):
        raise ValueError(f"{what} must describe a mapping, got {type(parsed).__name__}")
    return parsed


def is_older(current: str, target: str) -> bool:
    """Whether ``current`` is older than ``target``; unknown formats compare as 'different'."""
    a, b = version_key(current), version_key(target)
    if a is None or b is None:
        return current != target
    return a < b


class AddonManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.cluster_name: str = module.params["cluster_name"]
        self.name: str = module.params["name"]
        self.deadline = Deadline(module.params["wait_timeout"])
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    # --- reads -------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any] | None:
        try:
            return describe_or_none(
                self.client.describe_addon, "addon", clusterName=self.cluster_name, addonName=self.name
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't describe add-on {self.name} of {self.cluster_name}")

    def default_version(self) -> str | None:
        """The add-on's default version for the cluster's Kubernetes version.

        None in check mode when the cluster does not exist yet (a check run of a new site).
        """
        try:
            cluster = describe_or_none(self.client.describe_cluster, "cluster", name=self.cluster_name)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't describe cluster {self.cluster_name}")
        if cluster is None:
            if self.module.check_mode:
                return None
            self.module.fail_json(msg=f"cluster_name: there is no EKS cluster called {self.cluster_name}")
        k8s = cluster["version"]
        try:
            versions = addon_versions(self.client, self.name, k8s)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't list versions of add-on {self.name}")
        if not versions:
            self.module.fail_json(
                msg=f"name: EKS offers no add-on called {self.name} for Kubernetes {k8s}"
                " (see aws eks describe-addon-versions --kubernetes-version " + k8s + ")"
            )
        defaults = [v["addonVersion"] for v in versions if is_default_for(v, k8s)]
        # No version flagged as default: the newest.
        return defaults[0] if defaults else versions[0]["addonVersion"]

    # --- desired state -----------------------------------------------------------------------

    def desired_configuration(self) -> Any:
        value = self.params["configuration_values"]
        if value is None:
            return None
        try:
            return parse_configuration(value, what="configuration_values")
        except ValueError as e:
            self.module.fail_json(msg=str(e))

    def current_configuration(self, addon: dict[str, Any]) -> Any:
        try:
            return parse_configuration(addon.get("configurationValues"), what="configurationValues")
        except ValueError:
            # Unparseable text stored by someone else: compare as text, which forces an update.
            return addon.get("configurationValues")

    @staticmethod
    def view(addon: dict[str, Any] | None, configuration: Any = None) -> dict[str, Any]:
        """The managed fields, for the diff."""
        if addon is None:
            return {}
        return {
            "addon_version": addon.get("addonVersion"),
            "service_account_role_arn": addon.get("serviceAccountRoleArn"),
            "configuration_values": configuration,
            "tags": addon.get("tags") or {},
        }

    # --- present -----------------------------------------------------------------------------

    def ensure_present(self) -> dict[str, Any]:
        addon = self.describe()
        if addon is not None and addon.get("status") == "DELETING":
            # Being deleted: create it again once it is gone (in check mode: report the creation).
            addon = None if self.module.check_mode else self.wait({GONE}, {"DELETE_FAILED"})
        configuration = self.desired_configuration()
        if addon is None:
            return self.create(configuration)
        return self.update(addon, configuration)

    def create(self, configuration: Any) -> dict[str, Any]:
        version = self.params["version"] or self.default_version()
        request: dict[str, Any] = {
            "clusterName": self.cluster_name,
            "addonName": self.name,
            "resolveConflicts": self.params["resolve_conflicts"],
        }
        if version:
            request["addonVersion"] = version
        if self.params["service_account_role_arn"]:
            request["serviceAccountRoleArn"] = self.params["service_account_role_arn"]
        if configuration:
            request["configurationValues"] = json.dumps(configuration, sort_keys=True)
        if self.params["tags"]:
            request["tags"] = {k: str(v) for k, v in self.params["tags"].items()}
        self.changed = True
        planned = {
            "addonName": self.name,
            "clusterName": self.cluster_name,
            "addonVersion": version,
            "serviceAccountRoleArn": request.get("serviceAccountRoleArn"),
            "configurationValues": request.get("configurationValues"),
            "tags": request.get("tags", {}),
            "status": "CREATING",
        }
        self.diff = {"before": {}, "after": self.view(planned, configuration or None)}
        if self.module.check_mode:
            return {k: v for k, v in planned.items() if v is not None}
        try:
            addon = self.client.create_addon(aws_retry=True, **request)["addon"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't create add-on {self.name} on {self.cluster_name}")
        if self.params["wait"]:
            addon = self.wait({"ACTIVE"}, FAILED)
        return addon

    def update(self, addon: dict[str, Any], configuration: Any) -> dict[str, Any]:
        request: dict[str, Any] = {}
        version = self.params["version"]
        if version:
            if version != addon.get("addonVersion"):
                request["addonVersion"] = version
        else:
            default = self.default_version()
            if default and is_older(addon.get("addonVersion", ""), default):
                request["addonVersion"] = default
        role = self.params["service_account_role_arn"]
        if role is not None and role != (addon.get("serviceAccountRoleArn") or ""):
            request["serviceAccountRoleArn"] = role
        current_configuration = self.current_configuration(addon)
        if configuration is not None and configuration != current_configuration:
            request["configurationValues"] = json.dumps(configuration, sort_keys=True)
        to_set, to_unset = tag_changes(addon.get("tags"), self.params["tags"], self.params["purge_tags"])

        after = dict(addon)
        after.update(request)
        after["tags"] = tags_after(addon.get("tags"), to_set, to_unset)
        configuration_after = configuration if "configurationValues" in request else current_configuration
        self.diff = {
            "before": self.view(addon, current_configuration),
            "after": self.view(after, configuration_after),
        }

        if request:
            self.changed = True
            if self.module.check_mode:
                after["status"] = "UPDATING"
            else:
                if addon.get("status") in BUSY:
                    # EKS refuses UpdateAddon while the add-on is busy: let it settle first.
                    self.wait(SETTLED, {"DELETE_FAILED"})
                request.update(
                    clusterName=self.cluster_name,
                    addonName=self.name,
                    resolveConflicts=self.params["resolve_conflicts"],
                )
                try:
                    self.client.update_addon(aws_retry=True, **request)
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                    self.module.fail_json_aws(
                        e, msg=f"Couldn't update add-on {self.name} on cluster {self.cluster_name}"
                    )
        if apply_tags(self.module, self.client, addon["addonArn"], to_set, to_unset):
            self.changed = True

        if self.module.check_mode:
            return after
        if self.params["wait"]:
            if not request and addon.get("status") == "ACTIVE":
                # The fast path: already there, nothing started. Tags do not change the status.
                return after
            return self.wait({"ACTIVE"}, FAILED)
        return (self.describe() or after) if self.changed else addon

    # --- absent ------------------------------------------------------------------------------

    def ensure_absent(self) -> dict[str, Any] | None:
        addon = self.describe()
        if addon is None:
            self.diff = {"before": {}, "after": {}}
            return None
        self.diff = {"before": self.view(addon, self.current_configuration(addon)), "after": {}}
        if addon.get("status") != "DELETING":
            self.changed = True
            if self.module.check_mode:
                return None
            try:
                self.client.delete_addon(aws_retry=True, clusterName=self.cluster_name, addonName=self.name)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.module.fail_json_aws(
                    e, msg=f"Couldn't delete add-on {self.name} from cluster {self.cluster_name}"
                )
        if self.params["wait"]:
            self.wait({GONE}, {"DELETE_FAILED"})
        return None

    # --- waiting -----------------------------------------------------------------------------

    def wait(self, want: set[str], fail_on: set[str]) -> dict[str, Any] | None:
        return wait_or_fail(
            self.module,
            self.describe,
            want=want,
            fail_on=fail_on,
            deadline=self.deadline,
            what=f"Add-on {self.name} of cluster {self.cluster_name}",
            max_delay=MAX_DELAY,
            changed=self.changed,
        )


def main() -> None:
    argument_spec = dict(
        cluster_name=dict(type="str", required=True),
        name=dict(type="str", required=True, aliases=["addon_name"]),
        version=dict(type="str"),
        service_account_role_arn=dict(type="str"),
        configuration_values=dict(type="raw"),
        resolve_conflicts=dict(type="str", choices=["NONE", "OVERWRITE", "PRESERVE"], default="OVERWRITE"),
        **TAGGING_ARGUMENT_SPEC,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **waiting_argument_spec(900),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    check_wait_timeout(module)

    client = module.client("eks", retry_decorator=AWSRetry.jittered_backoff())
    manager = AddonManager(module, client)
    addon = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()

    result: dict[str, Any] = dict(changed=manager.changed, **to_result(addon))
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
