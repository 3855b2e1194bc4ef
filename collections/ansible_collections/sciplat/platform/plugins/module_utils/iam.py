# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether an IAM role is already as amazon.aws.iam_role and iam_policy would leave it.

A role's stage reads all its roles in one task (M(sciplat.platform.iam_roles_info)) and calls
amazon.aws.iam_role or amazon.aws.iam_policy only for a role that differs (the
``sciplat.platform.iam_role_is_current`` test, ``role_is_current``). The comparison is those modules'
own: their policy and tag helpers, and only what the task sets. No AWS SDK import here: the test runs in
every task's worker that evaluates it, and importing botocore there cost 0.12 s a task.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.sciplat.platform.plugins.module_utils.policy_documents import (
    policies_differ,
    policy_document,
)

# What the test compares; the keys a desired role may have besides its name.
DESIRED_KEYS = (
    "assume_role_policy_document",
    "description",
    "managed_policies",
    "tags",
    "purge_tags",
    "inline_policies",
)


def role_is_current(live: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    """Whether amazon.aws.iam_role (and amazon.aws.iam_policy, for ``inline_policies``) given ``desired``
    would change nothing on the role ``live`` (a ``read_roles`` entry; None: the role does not exist).

    ``desired`` holds the modules' options, only those the task sets: ``assume_role_policy_document``,
    ``description``, ``managed_policies`` (ARNs, compared as a set with purge_policies: a name the module
    would look up counts as a difference), ``tags`` with ``purge_tags`` (default true), and
    ``inline_policies`` ({policy name: document}). Raises ValueError for a document that is not JSON."""
    unknown = set(desired) - set(DESIRED_KEYS) - {"name"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; accepted: name, {', '.join(DESIRED_KEYS)}")
    if live is None:
        return False
    if desired.get("assume_role_policy_document") is not None and policies_differ(
        live["assume_role_policy_document"],
        policy_document(desired["assume_role_policy_document"], "assume_role_policy_document"),
    ):
        return False
    if desired.get("description") is not None and live.get("description") != desired["description"]:
        return False
    managed = desired.get("managed_policies")
    if managed is not None:
        if any(not str(arn).startswith("arn:") for arn in managed):
            return False
        if set(managed) != set(live["managed_policy_arns"]):
            return False
    if desired.get("tags") is not None:
        to_set, to_delete = compare_aws_tags(live["tags"], desired["tags"], desired.get("purge_tags", True))
        if to_set or to_delete:
            return False
    for policy_name, document in (desired.get("inline_policies") or {}).items():
        current = live["inline_policies"].get(policy_name)
        if policies_differ(current, policy_document(document, f"inline_policies.{policy_name}")):
            return False
    return True
