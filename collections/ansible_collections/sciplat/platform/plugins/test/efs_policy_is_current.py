# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.sciplat.platform.plugins.module_utils.efs_policy import policy_is_current

DOCUMENTATION = r"""
name: efs_policy_is_current
short_description: Whether an EFS file system already has the file-system policy one would set
description:
  - True when the policy a M(sciplat.platform.efs_filesystem) result returned (its
    C(file_system_policy)) is the policy that module's
    O(sciplat.platform.efs_filesystem#module:file_system_policy) would set, compared by the module's
    own rules (statements without a Resource name the file system; key order, single-item lists and
    the default Version do not count).
  - Lets a role skip a second call of the module, and its reads, when the policy is already right.
options:
  _input:
    description: The file system's policy, C(file_system_policy) of the module's result (null when none).
    type: raw
    required: true
  policy:
    description: The policy to set, as a dict or JSON text.
    type: raw
    required: true
  arn:
    description: The file system's ARN, C(file_system_arn) of the module's result.
    type: str
    required: true
"""

EXAMPLES = r"""
when: >-
  efs_fs.file_system_policy is not
  sciplat.platform.efs_policy_is_current(wanted_policy, efs_fs.file_system_arn)
"""

RETURN = r"""
_value:
  description: Whether the current policy is the one asked.
  type: bool
"""


def efs_policy_is_current(current: Any, policy: Any, arn: str) -> bool:
    try:
        return policy_is_current(current or None, policy, arn)
    except ValueError as e:
        raise AnsibleFilterError(f"efs_policy_is_current: {e}") from e


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"efs_policy_is_current": efs_policy_is_current}
