# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sciplat.platform.warn: each message as one Ansible warning line (documented in modules/warn.py)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("msg",))
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        messages = self._task.args.get("msg", [])
        if isinstance(messages, str):
            messages = [messages]
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            raise AnsibleActionFail("msg must be a string or a list of strings")
        # One line each: a message is a sentence, and the callback wraps nothing in a warning.
        result.update(changed=False, warnings=[" ".join(m.split()) for m in messages], count=len(messages))
        return result
