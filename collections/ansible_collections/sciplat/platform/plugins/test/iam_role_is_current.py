# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.sciplat.platform.plugins.module_utils.iam import role_is_current

DOCUMENTATION = r"""
name: iam_role_is_current
short_description: Whether an IAM role already is as amazon.aws.iam_role and iam_policy would leave it
description:
  - True when the role that M(sciplat.platform.iam_roles_info) read is already what
    M(amazon.aws.iam_role) (and M(amazon.aws.iam_policy), for C(inline_policies)) would make it from the
    options given, compared by those modules' own rules (policies as documents, tags with purge_tags).
  - Lets a role read its IAM roles once and skip the modules, and their reads, for a role that is right.
options:
  _input:
    description:
      - The options the task gives M(amazon.aws.iam_role), only those it sets, C(name) included
        (C(assume_role_policy_document), C(description), C(managed_policies) as ARNs, C(tags),
        C(purge_tags)), and C(inline_policies), each inline policy's document by its name, for
        M(amazon.aws.iam_policy).
    type: dict
    required: true
  roles:
    description: C(roles) of M(sciplat.platform.iam_roles_info)'s result.
    type: dict
    required: true
"""

EXAMPLES = r"""
when: node_role is not sciplat.platform.iam_role_is_current(cluster_roles.roles)
"""

RETURN = r"""
_value:
  description: Whether the role exists and nothing given differs.
  type: bool
"""


def iam_role_is_current(desired: dict[str, Any], roles: dict[str, Any]) -> bool:
    if "name" not in desired:
        raise AnsibleFilterError("iam_role_is_current: the role's options have no name")
    try:
        return role_is_current(roles.get(desired["name"]), desired)
    except ValueError as e:
        raise AnsibleFilterError(f"iam_role_is_current ({desired['name']}): {e}") from e


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"iam_role_is_current": iam_role_is_current}
