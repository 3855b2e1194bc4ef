# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Policy documents (IAM's policy language, which KMS key policies and EFS file-system policies share)
read from JSON text or data, and compared by meaning with amazon.aws's ``compare_policies``.

Both sides are compared as plain JSON data: ``compare_policies`` sorts mixed strings and tuples by the
type names in Python's TypeError, which Ansible's tagged strings (a str subclass) do not match. No AWS
SDK import here: the collection's test plugins use it, and Ansible imports every one of them in each
task's worker that evaluates one.
"""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies


def policy_document(value: Any, what: str) -> Any:
    """A policy document as plain JSON data, from its JSON text or from data. Raises ValueError naming
    ``what`` for text that is not JSON."""
    try:
        return json.loads(value if isinstance(value, str) else json.dumps(value))
    except ValueError as e:
        raise ValueError(f"{what} is not valid JSON: {e}") from e


def policies_differ(current: dict[str, Any] | None, desired: dict[str, Any] | None) -> bool:
    """Compared by meaning: key order, single-item lists and the default Version do not count; None (no
    policy) differs from any policy."""
    if current is None or desired is None:
        return current is not desired
    return compare_policies(
        policy_document(current, "the current policy"), policy_document(desired, "the policy")
    )
