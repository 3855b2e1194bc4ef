# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tags: the ``tags`` and ``purge_tags`` options (documented by amazon.aws.tags) and their diff."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# The options of every module that manages its resource's tags.
TAGGING_ARGUMENT_SPEC: dict[str, Any] = {
    "tags": {"type": "dict", "aliases": ["resource_tags"]},
    "purge_tags": {"type": "bool", "default": True},
}


def tag_changes(
    current: dict[str, str] | None, desired: dict[str, Any] | None, purge: bool
) -> tuple[dict[str, str], list[str]]:
    """Tags to set and tag keys to remove; nothing when ``desired`` is None (tags not managed)."""
    if desired is None:
        return {}, []
    to_set, to_unset = compare_aws_tags(current or {}, desired, purge_tags=purge)
    return {k: str(v) for k, v in to_set.items()}, sorted(to_unset)


def tags_after(current: dict[str, str] | None, to_set: dict[str, str], to_unset: list[str]) -> dict[str, str]:
    result = {k: v for k, v in (current or {}).items() if k not in to_unset}
    result.update(to_set)
    return result
