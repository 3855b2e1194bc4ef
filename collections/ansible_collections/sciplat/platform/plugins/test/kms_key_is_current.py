# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.sciplat.platform.plugins.module_utils.kms import alias_name, key_is_current

DOCUMENTATION = r"""
name: kms_key_is_current
short_description: Whether a KMS key already is as amazon.aws.kms_key would leave it
description:
  - True when the key that M(sciplat.platform.kms_keys_info) read under the alias is already what
    M(amazon.aws.kms_key) (state present) would make it from the options given, compared by that
    module's own rules (the policy as a document, tags with purge_tags, the key enabled).
  - Lets a role read its keys once and skip the module, and its reads, for a key that is right.
options:
  _input:
    description:
      - The options the task gives M(amazon.aws.kms_key), only those it sets, C(alias) included
        (C(description), C(enable_key_rotation), C(enabled), C(policy), C(tags), C(purge_tags)).
    type: dict
    required: true
  keys:
    description: C(kms_keys) of M(sciplat.platform.kms_keys_info)'s result.
    type: dict
    required: true
"""

EXAMPLES = r"""
when: secrets_key is not sciplat.platform.kms_key_is_current(cluster_keys.kms_keys)
"""

RETURN = r"""
_value:
  description: Whether a key has the alias and nothing given differs.
  type: bool
"""


def kms_key_is_current(desired: dict[str, Any], keys: dict[str, Any]) -> bool:
    if not desired.get("alias"):
        raise AnsibleFilterError("kms_key_is_current: the key's options have no alias")
    try:
        return key_is_current(keys.get(alias_name(desired["alias"])), desired)
    except ValueError as e:
        raise AnsibleFilterError(f"kms_key_is_current ({desired['alias']}): {e}") from e


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"kms_key_is_current": kms_key_is_current}
