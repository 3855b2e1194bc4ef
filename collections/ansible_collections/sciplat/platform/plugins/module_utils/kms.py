# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a KMS key is already as amazon.aws.kms_key would leave it.

A role reads its keys in one task (M(sciplat.platform.kms_keys_info): one ListAliases, then four reads a
key) and calls amazon.aws.kms_key only for a key that differs (the ``sciplat.platform.kms_key_is_current``
test, ``key_is_current``). No AWS SDK import here: the test runs in every task's worker that evaluates it,
and importing botocore there cost 0.12 s a task. amazon.aws.kms_key itself makes about
seventeen reads for a key it leaves alone (it describes the key three times and lists the account's
aliases three times). The comparison is that module's own: its policy and tag helpers, and only what
the task sets.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.sciplat.platform.plugins.module_utils.policy_documents import (
    policies_differ,
    policy_document,
)

# What the test compares: the module's options a desired key may have besides its alias.
DESIRED_KEYS = ("description", "enable_key_rotation", "enabled", "policy", "tags", "purge_tags")


def alias_name(alias: str) -> str:
    """An alias as the module's results name it: without the ``alias/`` prefix."""
    return alias[len("alias/") :] if alias.startswith("alias/") else alias


def key_is_current(live: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    """Whether amazon.aws.kms_key with ``desired`` (state present) would change nothing on the key
    ``live`` (a ``read_keys`` entry; None: no key has the alias).

    ``desired`` holds the module's options, only those the task sets: ``description``,
    ``enable_key_rotation``, ``enabled`` (default true), ``policy`` (a document or its JSON), ``tags``
    with ``purge_tags`` (default true). Grants are not compared (the kit's roles give none, and the module
    keeps a key's grants without ``purge_grants``). Raises ValueError for a policy that is not JSON."""
    unknown = set(desired) - set(DESIRED_KEYS) - {"alias"}
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; accepted: alias, {', '.join(DESIRED_KEYS)}")
    if live is None:
        return False
    # The module cancels a pending deletion and enables (or disables) the key.
    if live["key_state"] != ("Enabled" if desired.get("enabled", True) else "Disabled"):
        return False
    if desired.get("description") is not None and live["description"] != desired["description"]:
        return False
    rotation = desired.get("enable_key_rotation")
    if rotation is not None and live["enable_key_rotation"] != rotation:
        return False
    if desired.get("tags") is not None:
        if live["tags"] is None:
            return False
        to_set, to_delete = compare_aws_tags(live["tags"], desired["tags"], desired.get("purge_tags", True))
        if to_set or to_delete:
            return False
    return desired.get("policy") is None or not policies_differ(
        live["policy"], policy_document(desired["policy"], "policy")
    )
