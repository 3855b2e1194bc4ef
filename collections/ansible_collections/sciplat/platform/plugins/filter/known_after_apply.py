# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from typing import Any

from ansible_collections.sciplat.platform.plugins.module_utils.plan import KNOWN_AFTER_APPLY

DOCUMENTATION = r"""
name: known_after_apply
short_description: A value, or "(known after apply)" when it is not known yet (check mode)
description:
  - Returns O(_input) unless it is empty (V(""), V(None)) and O(unknown) is true, then the marker
    C((known after apply)) that every role's outputs use for IDs, ARNs and endpoints of resources a
    check run would create (module_utils/plan.py).
  - A list is mapped element by element.
  - Called with no input (C("" | sciplat.platform.known_after_apply)) it gives the marker itself.
options:
  _input:
    description: The value, empty while unknown.
    type: raw
    required: true
  unknown:
    description:
      - Whether an empty value is unknown (typically C(ansible_check_mode)).
      - When false the value is returned as is.
    type: bool
    default: true
"""

EXAMPLES = r"""
aws_network_out_vpc_id: "{{ aws_network__vpc_id | sciplat.platform.known_after_apply(ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: The value, or C((known after apply)) in its place.
  type: raw
"""


def known_after_apply(value: Any, unknown: bool = True) -> Any:
    if isinstance(value, (list, tuple)):
        return [known_after_apply(v, unknown) for v in value]
    if unknown and (value is None or value == ""):
        return KNOWN_AFTER_APPLY
    return value


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"known_after_apply": known_after_apply}
