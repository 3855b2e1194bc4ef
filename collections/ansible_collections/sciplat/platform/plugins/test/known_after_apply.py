# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible_collections.sciplat.platform.plugins.module_utils.plan import is_known_after_apply

DOCUMENTATION = r"""
name: known_after_apply
short_description: Whether a value is "(known after apply)", or a list or dict holding it
description:
  - True for the marker C((known after apply)) that the roles' outputs hold in check mode for what a
    check run would create (module_utils/plan.py), and for a list or dict with it among its values.
options:
  _input:
    description: The value.
    type: raw
    required: true
"""

EXAMPLES = r"""
when: efs_storage_vpc_id is not sciplat.platform.known_after_apply
"""

RETURN = r"""
_value:
  description: Whether the value is, or holds, the marker.
  type: bool
"""


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"known_after_apply": is_known_after_apply}
