# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Values known only after apply, the one convention of every role, playbook and module.

A check run (``--check --diff``) on a site whose resources do not exist yet cannot know their IDs,
ARNs or endpoints. The roles then set their outputs (``*_out_*``) to ``KNOWN_AFTER_APPLY``, as
Terraform's plan prints ``(known after apply)``: later stages validate it as a value to come (in
check mode only), skip lookups by it (there is nothing to find) and show it in their ``--diff``.

Playbooks and roles reach it through the ``sciplat.platform.known_after_apply`` filter (a value, or
the marker when it is empty in check mode) and test (``x is sciplat.platform.known_after_apply``);
modules import ``is_known_after_apply``.
"""

from __future__ import annotations

from typing import Any

KNOWN_AFTER_APPLY = "(known after apply)"


def is_known_after_apply(value: Any) -> bool:
    """True for the marker, or for a list or dict (its values) holding it."""
    if isinstance(value, str):
        return value == KNOWN_AFTER_APPLY
    if isinstance(value, dict):
        return any(is_known_after_apply(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_known_after_apply(v) for v in value)
    return False
