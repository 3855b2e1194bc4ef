# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Helpers shared by the EKS modules of sciplat.platform.

- ``Deadline``: one time budget for a whole module run (``wait_timeout``), shared by every wait.
- ``wait_for_status``: poll a describe function until the resource reaches a status, fails, or
  the deadline passes. ``GONE`` stands for "the describe call found nothing".
- ``wait_for_update``: poll DescribeUpdate until an EKS update (of a cluster, node group or add-on)
  finishes.
- ``tag_changes`` / ``apply_tags``: tag diff and apply for EKS ARNs (TagResource / UntagResource).
- ``describe_or_none``: turn ResourceNotFoundException into ``None``.
- ``to_result``: snake_case a boto3 answer, leaving tag keys (and label keys, when asked) as they are.
- ``addon_versions`` / ``addon_version_key``: an add-on's versions for one Kubernetes version
  (DescribeAddonVersions), and their order.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    normalize_boto3_result,
)
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# Status reported by wait_for_status when the describe call finds nothing.
GONE = "GONE"

# Polling starts fast (an emulator or a small change settles in seconds) and backs off to a
# ceiling that keeps the number of describe calls low for the slow cases (a cluster: ~10 min).
FIRST_DELAY = 2.0
BACKOFF = 1.5

# Indirection so unit tests can drive a fake clock without patching the time module.
_now: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


class WaitError(Exception):
    """A wait ended without reaching the wanted state; ``resource`` is the last answer seen."""

    def __init__(self, message: str, status: str | None, resource: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.status = status
        self.resource = resource


class WaitTimeout(WaitError):
    """The deadline passed."""


class WaitFailed(WaitError):
    """The resource reached a status it cannot leave by itself (CREATE_FAILED, Failed, ...)."""


class Deadline:
    """The time budget of one module run, in seconds from its creation."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = _now() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - _now())

    def passed(self) -> bool:
        return _now() >= self._end


def wait_for_status(
    describe: Callable[[], dict[str, Any] | None],
    *,
    want: Iterable[str],
    deadline: Deadline,
    what: str,
    fail_on: Iterable[str] = (),
    status_of: Callable[[dict[str, Any]], str | None] = lambda resource: resource.get("status"),
    max_delay: float = 15.0,
) -> dict[str, Any] | None:
    """Poll ``describe`` until the resource's status is in ``want``.

    Returns the last resource seen (``None`` when ``GONE`` was wanted and reached).
    Raises WaitFailed as soon as the status is in ``fail_on``, WaitTimeout when the deadline
    passes. The first describe happens immediately: a resource already in a wanted status costs
    one call and no sleep.
    """
    wanted = set(want)
    failing = set(fail_on)
    delay = FIRST_DELAY
    while True:
        resource = describe()
        status = GONE if resource is None else status_of(resource)
        if status in wanted:
            return resource
        if status in failing:
            raise WaitFailed(f"{what} reached status {status}", status, resource)
        if status == GONE:
            raise WaitFailed(f"{what} disappeared while waiting for {'/'.join(sorted(wanted))}", status, None)
        remaining = deadline.remaining()
        if remaining <= 0:
            wanted_text = "/".join(sorted(wanted))
            raise WaitTimeout(
                f"{what} still {status} after {deadline.seconds:g} s (waiting for {wanted_text});"
                " raise wait_timeout or check the resource",
                status,
                resource,
            )
        _sleep(min(delay, remaining))
        delay = min(delay * BACKOFF, max_delay)


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


def describe_or_none(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> dict[str, Any] | None:
    """``call(**params)[key]``, or ``None`` when AWS answers ResourceNotFoundException.

    Other botocore errors propagate: the caller turns them into ``fail_json_aws``.
    """
    try:
        return call(aws_retry=True, **params)[key]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def tag_changes(
    current: dict[str, str] | None, desired: dict[str, Any] | None, purge: bool
) -> tuple[dict[str, str], list[str]]:
    """Tags to set and tag keys to remove; nothing when ``desired`` is None (tags not managed)."""
    if desired is None:
        return {}, []
    to_set, to_unset = compare_aws_tags(current or {}, desired, purge_tags=purge)
    return {k: str(v) for k, v in to_set.items()}, sorted(to_unset)


def tags_after(current: dict[str, str] | None, to_set: dict[str, str], to_unset: list[str]) -> dict[str, str]:
    result = {k: v for k, v in (current or {}).items() if k not in to_unset}
    result.update(to_set)
    return result


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


def to_result(resource: dict[str, Any] | None, keep: Iterable[str] = ()) -> dict[str, Any]:
    """snake_case a boto3 answer for a module's return (dates as ISO text).

    The keys of ``tags`` and of the fields named in ``keep`` (such as a node group's Kubernetes
    ``labels``) are left as they are.
    """
    if not resource:
        return {}
    return camel_dict_to_snake_dict(normalize_boto3_result(resource), ignore_list=["tags", "Tags", *keep])


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
