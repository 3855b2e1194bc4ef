# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""EFS file-system policies compared by meaning, for sciplat.platform.efs_filesystem and the
efs_policy_is_current test: ``parse_policy`` / ``with_resource`` / ``desired_policy`` /
``policy_is_current`` (the comparison is ``policy_documents.policies_differ``).

No AWS SDK import here: Ansible loads every test plugin of the collection in each task's worker that
uses one of them, and importing botocore there cost 0.13 s a task.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.sciplat.platform.plugins.module_utils.policy_documents import (
    policies_differ,
    policy_document,
)


def parse_policy(value: Any, *, what: str) -> dict[str, Any] | None:
    """A policy given as a dict or JSON text, as a dict; None for no policy (``{}``, ``""``)."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str | dict):
        value = policy_document(value, what)
    if not isinstance(value, dict):
        raise ValueError(
            f"{what} must be a policy document (a dict or JSON object), got {type(value).__name__}"
        )
    if not value:
        return None
    if "Statement" not in value:
        raise ValueError(f"{what} must have a Statement (an IAM policy document), got keys {sorted(value)}")
    return value


def with_resource(policy: dict[str, Any] | None, arn: str) -> dict[str, Any] | None:
    """The policy with arn as the Resource of every statement that names none (a new copy)."""
    if not policy:
        return policy
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return policy
    filled = [
        dict(st, Resource=arn)
        if isinstance(st, dict) and "Resource" not in st and "NotResource" not in st
        else st
        for st in statements
    ]
    return dict(policy, Statement=filled)


def desired_policy(value: Any, arn: str | None) -> dict[str, Any] | None:
    """The file_system_policy parameter (a dict or JSON text) as the policy to set on the file system
    of ``arn``: statements without a Resource name it (``arn`` None: not known yet, left out)."""
    policy = parse_policy(value, what="file_system_policy")
    return with_resource(policy, arn) if arn else policy


def policy_is_current(current: dict[str, Any] | None, value: Any, arn: str | None) -> bool:
    """Whether the file system of ``arn``, whose policy is ``current``, already has the policy the
    file_system_policy parameter ``value`` asks, compared as efs_filesystem compares them."""
    return not policies_differ(current, desired_policy(value, arn))
