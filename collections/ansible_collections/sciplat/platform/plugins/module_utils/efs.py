# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Helpers shared by the EFS modules of sciplat.platform.

Waiting (``Deadline``, ``wait_for_status``) and tag diffs (``tag_changes``, ``tags_after``) come
from ``module_utils/waiting.py`` and ``tagging.py``; this file holds what is EFS's own:

- ``describe_file_system`` / ``list_file_systems`` / ``list_mount_targets`` / ``list_access_points``:
  the read calls, with "not found" turned into ``None`` and pagination followed.
- ``tags_of`` / ``apply_efs_tags``: EFS tags through the descriptions (which carry them) and
  TagResource / UntagResource; the legacy DescribeTags / CreateTags / DeleteTags API is never used.
- ``lifecycle_from_policies`` / ``lifecycle_to_policies``: the LifecyclePolicies list as one
  dict, one key per transition.
- ``dns_name`` and ``efs_result``: return values.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.sciplat.platform.plugins.module_utils.results import to_result

# The three transitions of a lifecycle configuration: option name -> API key.
TRANSITIONS = {
    "transition_to_ia": "TransitionToIA",
    "transition_to_archive": "TransitionToArchive",
    "transition_to_primary_storage_class": "TransitionToPrimaryStorageClass",
}
# The value of a transition option that removes the transition.
NO_TRANSITION = "none"

# Accepted values, as in botocore's EFS service model (TransitionToIARules, ...).
DAY_RULES = [
    "AFTER_1_DAY",
    "AFTER_7_DAYS",
    "AFTER_14_DAYS",
    "AFTER_30_DAYS",
    "AFTER_60_DAYS",
    "AFTER_90_DAYS",
    "AFTER_180_DAYS",
    "AFTER_270_DAYS",
    "AFTER_365_DAYS",
]
PRIMARY_RULES = ["AFTER_1_ACCESS"]

_DAYS = re.compile(r"^AFTER_(\d+)_DAYS?$")


def rule_days(rule: str | None) -> int | None:
    """``AFTER_30_DAYS`` -> 30; None for anything else."""
    match = _DAYS.match(rule or "")
    return int(match.group(1)) if match else None


# --- reads -------------------------------------------------------------------------------------


def describe_file_system(client: Any, file_system_id: str) -> dict[str, Any] | None:
    """The file system's description, or None when EFS does not know it (or it is deleted)."""
    try:
        found = client.describe_file_systems(aws_retry=True, FileSystemId=file_system_id)["FileSystems"]
    except is_boto3_error_code("FileSystemNotFound"):
        return None
    if not found or found[0].get("LifeCycleState") == "deleted":
        return None
    return found[0]


def list_file_systems(client: Any, creation_token: str | None = None) -> list[dict[str, Any]]:
    """Every file system of the region (or the one with the creation token), deleted ones left out."""
    params: dict[str, Any] = {"CreationToken": creation_token} if creation_token else {}
    paginator = client.get_paginator("describe_file_systems")
    found = paginator.paginate(**params).build_full_result().get("FileSystems", [])
    return [fs for fs in found if fs.get("LifeCycleState") != "deleted"]


def list_mount_targets(client: Any, file_system_id: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator("describe_mount_targets")
    result = paginator.paginate(FileSystemId=file_system_id).build_full_result()
    return [mt for mt in result.get("MountTargets", []) if mt.get("LifeCycleState") != "deleted"]


def mount_target_security_groups(client: Any, mount_target_id: str) -> list[str] | None:
    """Security groups of a mount target; None while EFS cannot tell (the mount target is busy)."""
    try:
        answer = client.describe_mount_target_security_groups(aws_retry=True, MountTargetId=mount_target_id)
    except is_boto3_error_code(["IncorrectMountTargetState", "MountTargetNotFound"]):
        return None
    return sorted(answer.get("SecurityGroups") or [])


def list_access_points(client: Any, file_system_id: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator("describe_access_points")
    result = paginator.paginate(FileSystemId=file_system_id).build_full_result()
    return [ap for ap in result.get("AccessPoints", []) if ap.get("LifeCycleState") != "deleted"]


def describe_access_point(client: Any, access_point_id: str) -> dict[str, Any] | None:
    try:
        found = client.describe_access_points(aws_retry=True, AccessPointId=access_point_id)["AccessPoints"]
    except is_boto3_error_code("AccessPointNotFound"):
        return None
    if not found or found[0].get("LifeCycleState") == "deleted":
        return None
    return found[0]


# --- tags --------------------------------------------------------------------------------------


def tags_of(resource: dict[str, Any] | None) -> dict[str, str]:
    """The tags of a file system or access point description, as a dict.

    Descriptions carry every tag of the resource (the ``Tags`` member is always present), so no
    separate ListTagsForResource call is needed to read them.
    """
    return boto3_tag_list_to_ansible_dict((resource or {}).get("Tags") or [])


def desired_tags(
    name: str | None, tags: dict[str, Any] | None, purge: bool
) -> tuple[dict[str, Any] | None, bool]:
    """Tags to compare with (None: not managed) and whether to purge, with ``name`` as the Name tag.

    When only ``name`` is given, the Name tag is managed and no other tag is touched.
    """
    if tags is None:
        return ({"Name": name} if name else None), False
    wanted = {k: str(v) for k, v in tags.items()}
    if name:
        wanted["Name"] = name
    return wanted, purge


def apply_efs_tags(
    module: Any, client: Any, resource_id: str, to_set: dict[str, str], to_unset: list[str]
) -> bool:
    """Apply a tag diff to an EFS file system or access point. Returns whether anything changed."""
    if not (to_set or to_unset):
        return False
    if module.check_mode:
        return True
    try:
        if to_unset:
            client.untag_resource(aws_retry=True, ResourceId=resource_id, TagKeys=to_unset)
        if to_set:
            client.tag_resource(
                aws_retry=True, ResourceId=resource_id, Tags=ansible_dict_to_boto3_tag_list(to_set)
            )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't update the tags of {resource_id}")
    return True


# --- lifecycle ---------------------------------------------------------------------------------


def lifecycle_from_policies(policies: list[dict[str, str]] | None) -> dict[str, str]:
    """``[{"TransitionToIA": "AFTER_30_DAYS"}, ...]`` -> ``{"transition_to_ia": "AFTER_30_DAYS", ...}``."""
    by_key = {key: option for option, key in TRANSITIONS.items()}
    result: dict[str, str] = {}
    for policy in policies or []:
        for key, value in policy.items():
            if key in by_key and value:
                result[by_key[key]] = value
    return result


def lifecycle_to_policies(lifecycle: dict[str, str]) -> list[dict[str, str]]:
    """The inverse of lifecycle_from_policies, one transition per policy object, in a fixed order."""
    return [{key: lifecycle[option]} for option, key in TRANSITIONS.items() if lifecycle.get(option)]


def lifecycle_view(lifecycle: dict[str, str]) -> dict[str, str]:
    """Every transition named, ``none`` for the missing ones: what the diff and the result show."""
    return {option: lifecycle.get(option) or NO_TRANSITION for option in TRANSITIONS}


def lifecycle_problem(
    lifecycle: dict[str, str], throughput_mode: str | None, performance_mode: str | None
) -> str | None:
    """Why EFS would refuse the lifecycle configuration, or None."""
    archive = lifecycle.get("transition_to_archive")
    if not archive:
        return None
    ia = lifecycle.get("transition_to_ia")
    if ia and (rule_days(archive) or 0) <= (rule_days(ia) or 0):
        return (
            f"transition_to_archive must be later than transition_to_ia (files reach Archive only after IA),"
            f" got {archive} after {ia}"
        )
    if throughput_mode and throughput_mode != "elastic":
        return f"transition_to_archive needs throughput_mode elastic (the file system uses {throughput_mode})"
    if performance_mode and performance_mode != "generalPurpose":
        return (
            "transition_to_archive needs performance_mode generalPurpose"
            f" (the file system uses {performance_mode})"
        )
    return None


# --- results -----------------------------------------------------------------------------------


def dns_name(file_system_id: str, region: str, arn: str | None = None) -> str:
    """The file system's DNS name, ``<id>.efs.<region>.amazonaws.com`` (``.com.cn`` in China)."""
    suffix = "amazonaws.com.cn" if (arn or "").startswith("arn:aws-cn:") else "amazonaws.com"
    return f"{file_system_id}.efs.{region}.{suffix}"


def efs_result(resource: dict[str, Any] | None) -> dict[str, Any]:
    """snake_case an EFS description for a module's return, with its tags as a dict."""
    if not resource:
        return {}
    result = to_result({k: v for k, v in resource.items() if k != "Tags"})
    if "Tags" in resource:
        result["tags"] = tags_of(resource)
    return result
