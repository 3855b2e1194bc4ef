#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efs_filesystem
version_added: 0.1.0
short_description: Manage Amazon EFS file systems, with lifecycle, backup policy and file-system policy
description:
  - Create, update and delete an Amazon EFS file system - encryption, performance and throughput
    mode, lifecycle transitions (Infrequent Access, Archive, back to Standard), the automatic
    backup policy, the file-system (resource) policy and tags.
  - Unlike M(community.aws.efs), this module supports check mode and diff, manages the backup
    policy and the file-system policy, and reads and writes tags with the current tagging API
    (the tags in DescribeFileSystems, TagResource, UntagResource), never the legacy
    DescribeTags / CreateTags / DeleteTags calls.
  - The file system is found by O(creation_token) when given, else by its C(Name) tag (O(name));
    a file system whose creation token is O(name) is found too.
  - Encryption, the KMS key and the performance mode are fixed when the file system is created;
    a request to change them fails naming the parameter.
  - Deletion is protected - O(state=absent) fails, saying what it would delete, unless
    O(allow_delete=true); mount targets are deleted with the file system only with
    O(delete_mount_targets=true).
  - Mount targets and access points have their own modules, M(sciplat.platform.efs_mount_targets)
    and M(sciplat.platform.efs_access_point).
author:
  - Science platform deployment kit maintainers
options:
  name:
    description:
      - The C(Name) tag of the file system, used to find it when O(creation_token) is not given.
      - Also the creation token of a new file system when O(creation_token) is not given.
      - At least one of O(name) and O(creation_token) is required.
    type: str
  creation_token:
    description:
      - The creation token (1 to 64 characters) that identifies the file system; EFS refuses a
        second file system with the same token, which makes creation idempotent.
      - Defaults to O(name) for a new file system.
    type: str
  encrypted:
    description:
      - Whether the file system is encrypted at rest. Fixed at creation.
      - A request that differs from an existing file system fails naming this parameter.
    type: bool
    default: true
  kms_key_id:
    description:
      - The KMS key that encrypts the file system - key ID, key ARN, alias name (C(alias/...)) or
        alias ARN. When omitted, EFS uses the AWS-managed key C(aws/elasticfilesystem).
      - Fixed at creation. On an existing file system it is compared with the key in use (aliases
        are resolved through KMS) and a difference fails naming this parameter; when omitted, the
        key of an existing file system is not checked.
    type: str
  performance_mode:
    description:
      - The performance mode. A new file system gets V(generalPurpose) when omitted.
      - Fixed at creation; when given, a difference fails naming this parameter.
    type: str
    choices: [generalPurpose, maxIO]
  throughput_mode:
    description:
      - The throughput mode. A new file system gets the EFS default (V(bursting)) when omitted;
        an existing one keeps its mode.
      - Changed in place with UpdateFileSystem. EFS allows a change of throughput mode, or a
        decrease of provisioned throughput, once every 24 hours and refuses more.
    type: str
    choices: [bursting, provisioned, elastic]
  provisioned_throughput_in_mibps:
    description:
      - Provisioned throughput in MiB/s; required with, and only accepted with,
        O(throughput_mode=provisioned).
    type: float
  transition_to_ia:
    description:
      - When files not accessed for that long move to the Infrequent Access storage class.
      - V(none) removes the transition. When omitted, the transition is not changed.
    type: str
    choices: [AFTER_1_DAY, AFTER_7_DAYS, AFTER_14_DAYS, AFTER_30_DAYS, AFTER_60_DAYS, AFTER_90_DAYS,
              AFTER_180_DAYS, AFTER_270_DAYS, AFTER_365_DAYS, none]
  transition_to_primary_storage_class:
    description:
      - V(AFTER_1_ACCESS) moves a file back to Standard storage the first time it is accessed in
        Infrequent Access or Archive.
      - V(none) removes the transition. When omitted, the transition is not changed.
    type: str
    choices: [AFTER_1_ACCESS, none]
  transition_to_archive:
    description:
      - When files not accessed for that long move to the Archive storage class.
      - Must be later than O(transition_to_ia), and needs the V(elastic) throughput mode and the
        V(generalPurpose) performance mode (EFS API reference, PutLifecycleConfiguration).
      - V(none) removes the transition. When omitted, the transition is not changed.
    type: str
    choices: [AFTER_1_DAY, AFTER_7_DAYS, AFTER_14_DAYS, AFTER_30_DAYS, AFTER_60_DAYS, AFTER_90_DAYS,
              AFTER_180_DAYS, AFTER_270_DAYS, AFTER_365_DAYS, none]
  backup_policy:
    description:
      - Whether EFS automatic backups (to the C(aws/efs/automatic-backup-vault) vault of AWS
        Backup) are on. Set with PutBackupPolicy on an existing file system; a new file system is
        created with it.
      - Backups through a plan of your own (M(amazon.aws.backup_plan)) do not need it.
      - When omitted, the backup policy is not changed.
    type: str
    choices: [ENABLED, DISABLED]
  file_system_policy:
    description:
      - The file-system policy (an IAM resource policy), as a dict or JSON text; for example one
        denying access without TLS (C(aws:SecureTransport)).
      - Compared by meaning, so key order, formatting and single-item lists do not cause updates.
      - V({}) or an empty string removes the policy (EFS then grants access to any client that can
        reach a mount target). When omitted, the policy is not changed.
      - A statement without C(Resource) gets the file system's ARN as its C(Resource) (the ARN is
        known only once the file system exists; in check mode on a new one it reads
        C((known after apply))).
    type: raw
  bypass_policy_lockout_safety_check:
    description:
      - Passed to PutFileSystemPolicy. Set it only when the policy would otherwise be refused
        because it prevents the caller from changing the policy again.
    type: bool
    default: false
  state:
    description: Whether the file system should exist.
    type: str
    choices: [present, absent]
    default: present
  allow_delete:
    description:
      - Must be V(true) for O(state=absent) to delete an existing file system and every file on
        it. Without it the task fails, saying what would be deleted.
    type: bool
    default: false
  delete_mount_targets:
    description:
      - With O(state=absent), delete the file system's mount targets first (EFS refuses to delete a
        file system that has mount targets). Without it the task fails when there are any.
    type: bool
    default: false
  wait:
    description:
      - Wait until the file system is C(available) (O(state=present)) or gone (O(state=absent)).
      - A new file system is waited for whatever this option says when a lifecycle configuration
        or a file-system policy has to be set on it, and mount targets are always waited for
        before the file system is deleted.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the whole task may spend waiting.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - The C(Name) tag is O(name); it is kept when O(purge_tags=true), and O(tags) may not set a
    different one.
"""

EXAMPLES = r"""
- name: Create the encrypted home filesystem with lifecycle, backups and a TLS-only policy.
  sciplat.platform.efs_filesystem:
    name: sciplat-homes
    kms_key_id: alias/sciplat-efs
    performance_mode: generalPurpose
    throughput_mode: elastic
    transition_to_ia: AFTER_30_DAYS
    transition_to_primary_storage_class: AFTER_1_ACCESS
    backup_policy: DISABLED
    file_system_policy:
      Version: "2012-10-17"
      Statement:
        - Sid: DenyWithoutTLS
          Effect: Deny
          Principal: {AWS: "*"}
          Action: "*"
          Condition:
            Bool: {"aws:SecureTransport": "false"}
    tags:
      site: archive
      sciplat-backup: "true"
  register: homes

- name: Provisioned throughput for a busy term.
  sciplat.platform.efs_filesystem:
    name: sciplat-homes
    throughput_mode: provisioned
    provisioned_throughput_in_mibps: 128

- name: Delete the filesystem, its mount targets and all its data (teardown only).
  sciplat.platform.efs_filesystem:
    name: sciplat-homes
    state: absent
    allow_delete: true
    delete_mount_targets: true
"""

RETURN = r"""
file_system_id:
  description: ID of the file system.
  returned: when the file system exists (not for a creation in check mode)
  type: str
  sample: fs-0123456789abcdef0
file_system_arn:
  description: ARN of the file system.
  returned: when the file system exists
  type: str
  sample: arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0
dns_name:
  description: DNS name to mount the file system with, C(<id>.efs.<region>.amazonaws.com).
  returned: when the file system exists
  type: str
  sample: fs-0123456789abcdef0.efs.us-east-1.amazonaws.com
name:
  description: The C(Name) tag.
  returned: when state is present and the file system has one
  type: str
  sample: sciplat-homes
creation_token:
  description: The creation token.
  returned: when state is present
  type: str
  sample: sciplat-homes
life_cycle_state:
  description: State of the file system when the module returned (C(creating), C(available), ...).
  returned: when state is present
  type: str
  sample: available
number_of_mount_targets:
  description: How many mount targets the file system has.
  returned: when the file system exists
  type: int
  sample: 3
size_in_bytes:
  description: Metered size of the data, as EFS last measured it (updated about once an hour).
  returned: when the file system exists
  type: dict
  contains:
    value:
      description: Total bytes.
      type: int
    value_in_standard:
      description: Bytes in Standard storage.
      type: int
    value_in_ia:
      description: Bytes in Infrequent Access storage.
      type: int
    value_in_archive:
      description: Bytes in Archive storage.
      type: int
  sample: {"value": 6144, "value_in_standard": 6144, "value_in_ia": 0, "value_in_archive": 0}
encrypted:
  description: Whether the file system is encrypted.
  returned: when state is present
  type: bool
  sample: true
kms_key_id:
  description: ARN of the KMS key that encrypts the file system.
  returned: when the file system is encrypted and EFS reports it
  type: str
  sample: arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555
performance_mode:
  description: Performance mode.
  returned: when state is present
  type: str
  sample: generalPurpose
throughput_mode:
  description: Throughput mode.
  returned: when state is present
  type: str
  sample: elastic
provisioned_throughput_in_mibps:
  description: Provisioned throughput.
  returned: when the throughput mode is provisioned
  type: float
  sample: 128.0
lifecycle:
  description: The lifecycle transitions, V(none) where there is none.
  returned: when state is present
  type: dict
  contains:
    transition_to_ia:
      description: Transition to Infrequent Access.
      type: str
    transition_to_archive:
      description: Transition to Archive.
      type: str
    transition_to_primary_storage_class:
      description: Transition back to Standard.
      type: str
  sample: {"transition_to_ia": "AFTER_30_DAYS", "transition_to_archive": "none",
           "transition_to_primary_storage_class": "AFTER_1_ACCESS"}
backup_policy:
  description: Status of the automatic backup policy (C(ENABLED), C(ENABLING), C(DISABLED), C(DISABLING)).
  returned: when state is present
  type: str
  sample: DISABLED
file_system_policy:
  description: The file-system policy, or null when there is none.
  returned: when state is present
  type: dict
  sample: {"Version": "2012-10-17", "Statement": [{"Sid": "DenyWithoutTLS", "Effect": "Deny"}]}
tags:
  description: Tags of the file system, the C(Name) tag included.
  returned: when state is present
  type: dict
  sample: {"Name": "sciplat-homes", "site": "archive"}
creation_time:
  description: When the file system was created.
  returned: when the file system exists
  type: str
  sample: "2026-11-25T10:00:00+00:00"
"""

import contextlib
import json
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.efs import (
    DAY_RULES,
    NO_TRANSITION,
    PRIMARY_RULES,
    TRANSITIONS,
    apply_efs_tags,
    describe_file_system,
    desired_tags,
    dns_name,
    efs_result,
    lifecycle_from_policies,
    lifecycle_problem,
    lifecycle_to_policies,
    lifecycle_view,
    list_file_systems,
    list_mount_targets,
    tags_of,
)
from ansible_collections.sciplat.platform.plugins.module_utils.efs_policy import desired_policy, with_resource
from ansible_collections.sciplat.platform.plugins.module_utils.policy_documents import policies_differ
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
    wait_for_status,
    waiting_argument_spec,
)

MAX_DELAY = 10.0
# States in which EFS refuses configuration calls (IncorrectFileSystemLifeCycleState).
BUSY = {"creating", "updating"}
# Transitional backup-policy states count as the state they are heading for.
BACKUP_STATUS = {"ENABLING": "ENABLED", "DISABLING": "DISABLED"}
KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def key_matches(current: str | None, wanted: str) -> bool | None:
    """Whether the KMS key ``wanted`` is ``current``; None when only KMS can tell (aliases)."""
    if not current:
        return False
    if wanted == current:
        return True
    if KEY_ID.match(wanted):
        return current.endswith(f":key/{wanted}") or current == wanted
    if KEY_ID.match(current):
        return wanted.endswith(f":key/{current}")
    if "alias/" in wanted or "alias/" in current:
        return None
    return False


def human_size(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover - the loop returns first


class FileSystemManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.name: str | None = module.params["name"]
        self.token: str | None = module.params["creation_token"]
        self.region: str = client.meta.region_name
        self.deadline = Deadline(module.params["wait_timeout"])
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    @property
    def label(self) -> str:
        return self.name or self.token or "?"

    def fail_aws(self, e: Exception, action: str) -> None:
        self.module.fail_json_aws(
            e, msg=f"Couldn't {action} EFS file system {self.label}", changed=self.changed
        )

    # --- reads -------------------------------------------------------------------------------

    def find(self) -> dict[str, Any] | None:
        try:
            if self.token:
                found = list_file_systems(self.client, creation_token=self.token)
                return found[0] if found else None
            named = [fs for fs in list_file_systems(self.client) if fs.get("Name") == self.name]
            if len(named) > 1:
                ids = ", ".join(sorted(fs["FileSystemId"] for fs in named))
                self.module.fail_json(
                    msg=f"name: {len(named)} EFS file systems are called {self.name} ({ids});"
                    " give the creation_token of the one to manage"
                )
            if named:
                return named[0]
            found = list_file_systems(self.client, creation_token=self.name)
            return found[0] if found else None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "look up")

    def describe(self, file_system_id: str) -> dict[str, Any] | None:
        try:
            return describe_file_system(self.client, file_system_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "describe")

    def read_settings(self, file_system_id: str) -> dict[str, Any]:
        """Lifecycle, backup policy and file-system policy of an existing file system."""
        settings: dict[str, Any] = {}
        try:
            answer = self.client.describe_lifecycle_configuration(aws_retry=True, FileSystemId=file_system_id)
            settings["lifecycle"] = lifecycle_from_policies(answer.get("LifecyclePolicies"))
            try:
                policy = self.client.describe_backup_policy(aws_retry=True, FileSystemId=file_system_id)
                status = (policy.get("BackupPolicy") or {}).get("Status") or "DISABLED"
            except is_boto3_error_code("PolicyNotFound"):
                status = "DISABLED"
            settings["backup_policy"] = status
            try:
                answer = self.client.describe_file_system_policy(aws_retry=True, FileSystemId=file_system_id)
                settings["file_system_policy"] = (
                    json.loads(answer["Policy"]) if answer.get("Policy") else None
                )
            except is_boto3_error_code("PolicyNotFound"):
                settings["file_system_policy"] = None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "read the settings of")
        return settings

    def resolve_key(self, key: str) -> str:
        kms = self.module.client("kms", retry_decorator=AWSRetry.jittered_backoff())
        try:
            return kms.describe_key(aws_retry=True, KeyId=key)["KeyMetadata"]["Arn"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"kms_key_id: couldn't look up KMS key {key}")

    # --- desired state -----------------------------------------------------------------------

    def managed_policy(self, arn: str | None) -> tuple[bool, dict[str, Any] | None]:
        """(managed, policy): the policy is managed when the parameter is given. Statements without
        a Resource get the file system's ARN (arn; None: not known yet)."""
        value = self.params["file_system_policy"]
        if value is None:
            return False, None
        try:
            return True, desired_policy(value, arn)
        except ValueError as e:
            self.module.fail_json(msg=str(e))

    def desired_lifecycle(self, current: dict[str, str]) -> dict[str, str]:
        lifecycle = dict(current)
        for option in TRANSITIONS:
            value = self.params[option]
            if value == NO_TRANSITION:
                lifecycle.pop(option, None)
            elif value is not None:
                lifecycle[option] = value
        return lifecycle

    def tag_plan(self, current: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        wanted, purge = desired_tags(self.name, self.params["tags"], self.params["purge_tags"])
        return tag_changes(current, wanted, purge)

    @staticmethod
    def view(
        fs: dict[str, Any] | None,
        lifecycle: dict[str, str],
        backup_policy: str | None,
        policy: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The managed fields, for the diff."""
        if not fs:
            return {}
        return {
            "name": fs.get("Name"),
            "creation_token": fs.get("CreationToken"),
            "encrypted": fs.get("Encrypted"),
            "kms_key_id": fs.get("KmsKeyId"),
            "performance_mode": fs.get("PerformanceMode"),
            "throughput_mode": fs.get("ThroughputMode"),
            "provisioned_throughput_in_mibps": fs.get("ProvisionedThroughputInMibps"),
            "lifecycle": lifecycle_view(lifecycle),
            "backup_policy": backup_policy,
            "file_system_policy": policy,
            "tags": tags_of(fs),
        }

    def result(
        self,
        fs: dict[str, Any],
        lifecycle: dict[str, str],
        backup_policy: str | None,
        policy: dict[str, Any] | None,
    ) -> dict[str, Any]:
        result = efs_result(fs)
        if fs.get("FileSystemId"):
            result["dns_name"] = dns_name(fs["FileSystemId"], self.region, fs.get("FileSystemArn"))
        result.update(
            lifecycle=lifecycle_view(lifecycle), backup_policy=backup_policy, file_system_policy=policy
        )
        return result

    # --- present -----------------------------------------------------------------------------

    def validate(self) -> None:
        params = self.params
        if params["kms_key_id"] and not params["encrypted"]:
            self.module.fail_json(msg="kms_key_id needs encrypted: true (a key encrypts the file system)")
        mibps = params["provisioned_throughput_in_mibps"]
        if mibps is not None and params["throughput_mode"] != "provisioned":
            self.module.fail_json(
                msg="provisioned_throughput_in_mibps is only accepted with throughput_mode: provisioned"
                f" (got throughput_mode: {params['throughput_mode']})"
            )
        if mibps is not None and mibps < 1:
            self.module.fail_json(msg=f"provisioned_throughput_in_mibps must be at least 1, got {mibps:g}")

    def ensure_present(self) -> dict[str, Any]:
        self.validate()
        fs = self.find()
        if fs is not None and fs.get("LifeCycleState") == "deleting":
            # Being deleted: create it again once it is gone (in check mode: report the creation).
            fs = None if self.module.check_mode else self.wait(fs["FileSystemId"], {GONE})
        if fs is None:
            return self.create()
        return self.update(fs)

    def create(self) -> dict[str, Any]:
        token = self.token or self.name
        if len(token) > 64:
            self.module.fail_json(
                msg=f"creation_token: required when name is longer than 64 characters (name has {len(token)})"
            )
        params = self.params
        lifecycle = self.desired_lifecycle({})
        problem = lifecycle_problem(
            lifecycle, params["throughput_mode"] or "bursting", params["performance_mode"]
        )
        if problem:
            self.module.fail_json(msg=problem)
        policy_managed, policy = self.managed_policy(None)
        wanted_tags, _ = desired_tags(self.name, params["tags"], params["purge_tags"])
        tags = wanted_tags or {}

        request: dict[str, Any] = {"CreationToken": token, "Encrypted": params["encrypted"]}
        if params["performance_mode"]:
            request["PerformanceMode"] = params["performance_mode"]
        if params["kms_key_id"]:
            request["KmsKeyId"] = params["kms_key_id"]
        if params["throughput_mode"]:
            request["ThroughputMode"] = params["throughput_mode"]
        if params["provisioned_throughput_in_mibps"] is not None:
            request["ProvisionedThroughputInMibps"] = params["provisioned_throughput_in_mibps"]
        if params["backup_policy"]:
            request["Backup"] = params["backup_policy"] == "ENABLED"
        if tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        # Without Backup, EFS leaves automatic backups off for a Regional file system.
        backup_policy = params["backup_policy"] or "DISABLED"

        planned = {
            "Name": tags.get("Name"),
            "CreationToken": token,
            "Encrypted": params["encrypted"],
            "KmsKeyId": params["kms_key_id"],
            "PerformanceMode": params["performance_mode"] or "generalPurpose",
            "ThroughputMode": params["throughput_mode"] or "bursting",
            "ProvisionedThroughputInMibps": params["provisioned_throughput_in_mibps"],
            "LifeCycleState": "creating",
            "Tags": request.get("Tags", []),
        }
        self.changed = True
        planned_policy = with_resource(policy, "(known after apply)")
        self.diff = {"before": {}, "after": self.view(planned, lifecycle, backup_policy, planned_policy)}
        if self.module.check_mode:
            planned = {k: v for k, v in planned.items() if v is not None}
            return self.result(planned, lifecycle, backup_policy, planned_policy)

        try:
            fs = self.client.create_file_system(aws_retry=True, **request)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "create")
        fs_id = fs["FileSystemId"]
        if lifecycle or (policy_managed and policy):
            # EFS refuses configuration calls while the file system is being created.
            fs = self.wait(fs_id, {"available"})
            if lifecycle:
                self.put_lifecycle(fs_id, lifecycle)
            if policy_managed and policy:
                policy = with_resource(policy, fs["FileSystemArn"])
                self.put_policy(fs_id, policy)
        fs = self.wait(fs_id, {"available"}) if self.params["wait"] else (self.describe(fs_id) or fs)
        return self.result(fs, lifecycle, backup_policy, policy if policy_managed else None)

    def check_fixed(self, fs: dict[str, Any]) -> None:
        fs_id = fs["FileSystemId"]
        encrypted = self.params["encrypted"]
        if bool(fs.get("Encrypted")) != encrypted:
            state = "encrypted" if fs.get("Encrypted") else "not encrypted"
            self.module.fail_json(
                msg=f"encrypted: file system {fs_id} is {state}, and EFS cannot change encryption after"
                " creation (create a new file system and copy the data, e.g. with AWS DataSync or a restore"
                " from AWS Backup)"
            )
        key = self.params["kms_key_id"]
        if key:
            current = fs.get("KmsKeyId")
            same = key_matches(current, key)
            if same is None:
                same = self.resolve_key(key) == self.resolve_key(current)
            if not same:
                self.module.fail_json(
                    msg=f"kms_key_id: file system {fs_id} is encrypted with {current or 'no key'},"
                    f" asked {key}; EFS cannot change the key after creation"
                )
        mode = self.params["performance_mode"]
        if mode and mode != fs.get("PerformanceMode"):
            self.module.fail_json(
                msg=f"performance_mode: file system {fs_id} uses {fs.get('PerformanceMode')}, asked {mode};"
                " EFS cannot change the performance mode after creation"
            )

    def throughput_request(self, fs: dict[str, Any]) -> dict[str, Any]:
        mode = self.params["throughput_mode"]
        if mode is None:
            return {}
        request: dict[str, Any] = {}
        mibps = self.params["provisioned_throughput_in_mibps"]
        if mode != fs.get("ThroughputMode"):
            request["ThroughputMode"] = mode
        if mode == "provisioned" and float(mibps) != float(fs.get("ProvisionedThroughputInMibps") or 0):
            request["ThroughputMode"] = mode
            request["ProvisionedThroughputInMibps"] = mibps
        return request

    def update(self, fs: dict[str, Any]) -> dict[str, Any]:
        self.check_fixed(fs)
        fs_id = fs["FileSystemId"]
        settings = self.read_settings(fs_id)

        throughput = self.throughput_request(fs)
        lifecycle = self.desired_lifecycle(settings["lifecycle"])
        problem = lifecycle_problem(
            lifecycle,
            throughput.get("ThroughputMode") or fs.get("ThroughputMode"),
            fs.get("PerformanceMode"),
        )
        lifecycle_changes = lifecycle != settings["lifecycle"]
        if problem and (lifecycle_changes or throughput):
            self.module.fail_json(msg=problem)
        backup = self.params["backup_policy"]
        current_backup = settings["backup_policy"]
        backup_changes = backup is not None and backup != BACKUP_STATUS.get(current_backup, current_backup)
        policy_managed, policy = self.managed_policy(fs.get("FileSystemArn"))
        policy_changes = policy_managed and policies_differ(settings["file_system_policy"], policy)
        current_tags = tags_of(fs)
        to_set, to_unset = self.tag_plan(current_tags)

        after = dict(fs)
        after.update(throughput)
        after["Tags"] = [
            {"Key": k, "Value": v} for k, v in tags_after(current_tags, to_set, to_unset).items()
        ]
        if "Name" in to_set or "Name" in to_unset:
            after["Name"] = to_set.get("Name")
        after_backup = backup if backup_changes else current_backup
        after_policy = policy if policy_changes else settings["file_system_policy"]
        self.diff = {
            "before": self.view(fs, settings["lifecycle"], current_backup, settings["file_system_policy"]),
            "after": self.view(after, lifecycle, after_backup, after_policy),
        }

        configuration = lifecycle_changes or backup_changes or policy_changes or bool(throughput)
        if configuration:
            self.changed = True
        if self.module.check_mode:
            self.changed |= bool(to_set or to_unset)
            if throughput:
                after["LifeCycleState"] = "updating"
            return self.result(after, lifecycle, after_backup, after_policy)

        if configuration and fs.get("LifeCycleState") in BUSY:
            fs = self.wait(fs_id, {"available"})
            after["LifeCycleState"] = fs["LifeCycleState"]
        if lifecycle_changes:
            self.put_lifecycle(fs_id, lifecycle)
        if backup_changes:
            try:
                answer = self.client.put_backup_policy(
                    aws_retry=True, FileSystemId=fs_id, BackupPolicy={"Status": backup}
                )
                after_backup = (answer.get("BackupPolicy") or {}).get("Status") or backup
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.fail_aws(e, "set the backup policy of")
        if policy_changes:
            if policy is None:
                try:
                    self.client.delete_file_system_policy(aws_retry=True, FileSystemId=fs_id)
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                    self.fail_aws(e, "remove the file-system policy of")
            else:
                self.put_policy(fs_id, policy)
        if apply_efs_tags(self.module, self.client, fs_id, to_set, to_unset):
            self.changed = True
        # Last: UpdateFileSystem puts the file system in the updating state.
        if throughput:
            try:
                self.client.update_file_system(aws_retry=True, FileSystemId=fs_id, **throughput)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.fail_aws(e, "change the throughput of")

        if not self.changed:
            if self.params["wait"] and fs.get("LifeCycleState") != "available":
                fs = self.wait(fs_id, {"available"})
            return self.result(fs, settings["lifecycle"], current_backup, settings["file_system_policy"])
        if not throughput and fs.get("LifeCycleState") == "available":
            # Configuration calls leave the file system available: nothing to wait for or read again.
            return self.result(after, lifecycle, after_backup, after_policy)
        fs = self.wait(fs_id, {"available"}) if self.params["wait"] else (self.describe(fs_id) or after)
        return self.result(fs, lifecycle, after_backup, after_policy)

    def put_lifecycle(self, fs_id: str, lifecycle: dict[str, str]) -> None:
        try:
            self.client.put_lifecycle_configuration(
                aws_retry=True, FileSystemId=fs_id, LifecyclePolicies=lifecycle_to_policies(lifecycle)
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "set the lifecycle configuration of")

    def put_policy(self, fs_id: str, policy: dict[str, Any]) -> None:
        try:
            self.client.put_file_system_policy(
                aws_retry=True,
                FileSystemId=fs_id,
                Policy=json.dumps(policy, sort_keys=True),
                BypassPolicyLockoutSafetyCheck=self.params["bypass_policy_lockout_safety_check"],
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "set the file-system policy of")

    # --- absent ------------------------------------------------------------------------------

    def ensure_absent(self) -> None:
        fs = self.find()
        if fs is None:
            return
        fs_id = fs["FileSystemId"]
        if fs.get("LifeCycleState") == "deleting":
            self.diff = {"before": self.view(fs, {}, None, None), "after": {}}
            if self.params["wait"] and not self.module.check_mode:
                self.wait(fs_id, {GONE})
            return
        try:
            mount_targets = list_mount_targets(self.client, fs_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "list the mount targets of")
        settings = self.read_settings(fs_id)
        self.diff = {
            "before": self.view(
                fs, settings["lifecycle"], settings["backup_policy"], settings["file_system_policy"]
            ),
            "after": {},
        }
        targets = ", ".join(f"{mt['MountTargetId']} in {mt.get('SubnetId')}" for mt in mount_targets)
        if not self.params["allow_delete"]:
            size = (fs.get("SizeInBytes") or {}).get("Value")
            created = fs.get("CreationTime")
            created_text = created.isoformat() if hasattr(created, "isoformat") else created
            msg = (
                f"allow_delete: state=absent would delete EFS file system {fs_id}"
                f" (name {fs.get('Name') or '-'}, creation token {fs.get('CreationToken')},"
                f" created {created_text}, {human_size(size)} stored, {len(mount_targets)} mount target(s))"
                " and every file on it; set allow_delete: true to delete it"
            )
            if mount_targets and not self.params["delete_mount_targets"]:
                msg += f", and delete_mount_targets: true to delete its mount targets ({targets}) too"
            self.module.fail_json(msg=msg, file_system_id=fs_id)
        if mount_targets and not self.params["delete_mount_targets"]:
            self.module.fail_json(
                msg=f"delete_mount_targets: EFS file system {fs_id} still has {len(mount_targets)}"
                f" mount target(s) ({targets}), and EFS refuses to delete a file system with mount targets;"
                " set delete_mount_targets: true to delete them first, or remove them with"
                " sciplat.platform.efs_mount_targets",
                file_system_id=fs_id,
            )
        self.changed = True
        if self.module.check_mode:
            return
        if mount_targets:
            self.delete_mount_targets(fs_id, mount_targets)
        try:
            self.client.delete_file_system(aws_retry=True, FileSystemId=fs_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "delete")
        if self.params["wait"]:
            self.wait(fs_id, {GONE})

    def delete_mount_targets(self, fs_id: str, mount_targets: list[dict[str, Any]]) -> None:
        try:
            for mt in mount_targets:
                if mt.get("LifeCycleState") != "deleting":
                    self.client.delete_mount_target(aws_retry=True, MountTargetId=mt["MountTargetId"])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "delete the mount targets of")

        def remaining() -> dict[str, Any]:
            try:
                left = list_mount_targets(self.client, fs_id)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.fail_aws(e, "list the mount targets of")
            return {"status": "deleted" if not left else f"{len(left)} left", "left": left}

        try:
            wait_for_status(
                remaining,
                want={"deleted"},
                deadline=self.deadline,
                what=f"Mount targets of {fs_id}",
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            self.module.fail_json(msg=str(e), changed=self.changed, file_system_id=fs_id)

    # --- waiting -----------------------------------------------------------------------------

    def wait(self, fs_id: str, want: set[str]) -> dict[str, Any] | None:
        try:
            return wait_for_status(
                lambda: self.describe(fs_id),
                want=want,
                fail_on={"error"},
                deadline=self.deadline,
                what=f"EFS file system {fs_id}",
                status_of=lambda fs: fs.get("LifeCycleState"),
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            self.module.fail_json(
                msg=str(e), changed=self.changed, **{**efs_result(e.resource), "life_cycle_state": e.status}
            )


def main() -> None:
    argument_spec = dict(
        name=dict(type="str"),
        creation_token=dict(type="str"),
        encrypted=dict(type="bool", default=True),
        kms_key_id=dict(type="str", no_log=False),
        performance_mode=dict(type="str", choices=["generalPurpose", "maxIO"]),
        throughput_mode=dict(type="str", choices=["bursting", "provisioned", "elastic"]),
        provisioned_throughput_in_mibps=dict(type="float"),
        transition_to_ia=dict(type="str", choices=[*DAY_RULES, NO_TRANSITION]),
        transition_to_primary_storage_class=dict(type="str", choices=[*PRIMARY_RULES, NO_TRANSITION]),
        transition_to_archive=dict(type="str", choices=[*DAY_RULES, NO_TRANSITION]),
        backup_policy=dict(type="str", choices=["ENABLED", "DISABLED"]),
        file_system_policy=dict(type="raw"),
        bypass_policy_lockout_safety_check=dict(type="bool", default=False),
        **TAGGING_ARGUMENT_SPEC,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        allow_delete=dict(type="bool", default=False),
        delete_mount_targets=dict(type="bool", default=False),
        **waiting_argument_spec(600),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[["name", "creation_token"]],
        required_if=[["throughput_mode", "provisioned", ["provisioned_throughput_in_mibps"]]],
    )
    params = module.params
    check_wait_timeout(module)
    if params["creation_token"] is not None and not 1 <= len(params["creation_token"]) <= 64:
        module.fail_json(
            msg=f"creation_token must be 1 to 64 characters long, got {len(params['creation_token'])}"
        )
    name_tag = (params["tags"] or {}).get("Name")
    if params["name"] and name_tag is not None and str(name_tag) != params["name"]:
        module.fail_json(msg=f"tags: the Name tag is name ({params['name']}); tags asks Name={name_tag}")

    client = module.client("efs", retry_decorator=AWSRetry.jittered_backoff())
    manager = FileSystemManager(module, client)
    result: dict[str, Any] = {}
    if params["state"] == "present":
        result = manager.ensure_present()
    else:
        manager.ensure_absent()
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()
