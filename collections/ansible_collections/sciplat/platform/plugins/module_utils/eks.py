# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What only the EKS modules of sciplat.platform share (waiting, tags and results are in their own
module_utils: waiting.py, tagging.py, results.py).

- ``wait_for_update``: poll DescribeUpdate until an EKS update (of a cluster, node group or add-on)
  finishes.
- ``apply_tags``: apply a tag diff to an EKS ARN (TagResource / UntagResource).
- ``wait_or_fail``: a wait that ends the module with the resource's health issues.
- ``addon_versions`` / ``addon_version_key``: an add-on's versions for one Kubernetes version
  (DescribeAddonVersions), and their order.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.sciplat.platform.plugins.module_utils.results import to_result
from ansible_collections.sciplat.platform.plugins.module_utils.waiting import (
    Deadline,
    WaitError,
    wait_for_status,
)


def wait_for_update(
    client: Any,
    *,
    cluster_name: str,
    update_id: str,
    deadline: Deadline,
    addon_name: str | None = None,
    nodegroup_name: str | None = None,
    max_delay: float = 15.0,
) -> dict[str, Any]:
    """Poll DescribeUpdate until the update is Successful; Failed and Cancelled raise WaitFailed.

    The update belongs to the cluster, or to its add-on ``addon_name`` or node group ``nodegroup_name``.
    """
    params: dict[str, Any] = {"name": cluster_name, "updateId": update_id}
    if addon_name:
        params["addonName"] = addon_name
    if nodegroup_name:
        params["nodegroupName"] = nodegroup_name

    def describe() -> dict[str, Any]:
        return client.describe_update(aws_retry=True, **params)["update"]

    update = wait_for_status(
        describe,
        want={"Successful"},
        fail_on={"Failed", "Cancelled"},
        deadline=deadline,
        what=f"update {update_id} of {cluster_name}",
        max_delay=max_delay,
    )
    assert update is not None  # GONE is never wanted here
    return update


def update_errors(update: dict[str, Any] | None) -> str:
    """One line out of an Update's ``errors`` list."""
    errors = (update or {}).get("errors") or []
    return "; ".join(f"{e.get('errorCode', '?')}: {e.get('errorMessage', '')}".strip() for e in errors)


def health_issues(resource: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The ``health.issues`` of an add-on or a cluster (empty when there are none)."""
    return list(((resource or {}).get("health") or {}).get("issues") or [])


def format_issues(issues: list[dict[str, Any]]) -> str:
    if not issues:
        return "no health issues reported"
    return "; ".join(f"{i.get('code', '?')}: {i.get('message', '')}".strip() for i in issues)


_ADDON_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-eksbuild\.(\d+))?")


def addon_version_key(version: str) -> tuple[int, ...] | None:
    """``v1.18.3-eksbuild.1`` -> (1, 18, 3, 1); None when the format is unknown."""
    match = _ADDON_VERSION.match(version or "")
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def addon_versions(client: Any, name: str, kubernetes_version: str) -> list[dict[str, Any]]:
    """The ``AddonVersionInfo`` entries EKS offers for add-on ``name`` on ``kubernetes_version``,
    newest first (known formats; EKS lists newest first too). Botocore errors propagate."""
    paginator = client.get_paginator("describe_addon_versions")
    versions = [
        version
        for page in paginator.paginate(addonName=name, kubernetesVersion=kubernetes_version)
        for addon in page.get("addons", [])
        if addon.get("addonName") == name
        for version in addon.get("addonVersions", [])
    ]
    return sorted(versions, key=lambda v: addon_version_key(v["addonVersion"]) or (), reverse=True)


def is_default_for(version: dict[str, Any], kubernetes_version: str) -> bool:
    """Whether EKS marks an ``AddonVersionInfo`` as the default for ``kubernetes_version``."""
    return any(
        c.get("clusterVersion") == kubernetes_version and c.get("defaultVersion")
        for c in version.get("compatibilities", [])
    )


def apply_tags(module: Any, client: Any, arn: str, to_set: dict[str, str], to_unset: list[str]) -> bool:
    """Apply a tag diff to an EKS resource ARN. Returns whether anything changed (or would)."""
    if not (to_set or to_unset):
        return False
    if module.check_mode:
        return True
    try:
        if to_unset:
            client.untag_resource(resourceArn=arn, tagKeys=to_unset, aws_retry=True)
        if to_set:
            client.tag_resource(resourceArn=arn, tags=to_set, aws_retry=True)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't update the tags of {arn}")
    return True


def wait_or_fail(
    module: Any,
    describe: Callable[[], dict[str, Any] | None],
    *,
    want: Iterable[str],
    fail_on: Iterable[str],
    deadline: Deadline,
    what: str,
    max_delay: float,
    changed: bool,
    keep: Iterable[str] = (),
) -> dict[str, Any] | None:
    """``wait_for_status`` for a module: a failed or timed-out wait ends the module with the
    resource's health issues and its last state."""
    try:
        return wait_for_status(
            describe, want=want, fail_on=fail_on, deadline=deadline, what=what, max_delay=max_delay
        )
    except WaitError as e:
        module.fail_json(
            msg=f"{e}. Health issues: {format_issues(health_issues(e.resource))}",
            changed=changed,
            **{**to_result(e.resource, keep=keep), "status": e.status},
        )
        return None
