"""Whether a KMS key's policy lets an AWS service use the key: what AWS checks before a service encrypts
with a customer-managed key (SNS topics for CloudWatch alarms, CloudWatch Logs log groups).

Only what the kit's key policies use is read: Allow statements whose principal is the service (or
``*``), their actions matched with wildcards, and conditions with ``StringEquals``, ``StringLike``,
``ArnEquals`` or ``ArnLike`` on keys of the request's context (``aws:SourceAccount``, ``aws:SourceArn``,
``kms:EncryptionContext:...``). Any other operator or key counts as not met, so a policy the emulator
cannot judge lets nothing in (the safe side: a test then fails instead of passing by accident).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from typing import Any

from moto.kms.models import kms_backends

_EXACT = ("StringEquals", "ArnEquals")
_PATTERN = ("StringLike", "ArnLike")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_met(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            if operator not in _EXACT + _PATTERN or key not in context:
                return False
            match = (lambda v, w: v == w) if operator in _EXACT else fnmatch.fnmatchcase
            if not any(match(context[key], str(w)) for w in _as_list(wanted)):
                return False
    return True


def key_policy(account_id: str, region: str, key_id: str) -> dict[str, Any] | None:
    """The key's policy (key ID, key ARN, alias name or alias ARN), or None when there is no such key."""
    kms = kms_backends[account_id][region]
    try:
        return dict(json.loads(kms.get_key_policy(kms.any_id_to_key_id(key_id))))
    except Exception:  # a key that is missing or unreadable
        return None


def service_may_use(
    policy: dict[str, Any], service: str, actions: Iterable[str], context: dict[str, str]
) -> bool:
    """Whether Allow statements for ``service`` grant every one of ``actions`` in this request ``context``."""
    wanted = set(actions)
    allowed: set[str] = set()
    for statement in _as_list(policy.get("Statement", [])):
        principal = statement.get("Principal", {})
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        if statement.get("Effect") != "Allow" or (principal != "*" and service not in services):
            continue
        if not _conditions_met(statement.get("Condition", {}), context):
            continue
        for action in wanted:
            if any(fnmatch.fnmatchcase(action, pattern) for pattern in _as_list(statement.get("Action", []))):
                allowed.add(action)
    return allowed == wanted
