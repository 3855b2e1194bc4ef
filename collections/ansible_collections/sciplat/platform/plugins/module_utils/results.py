# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reads and results: a describe that may find nothing, and a boto3 answer as a module returns it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    normalize_boto3_result,
)


def describe_or_none(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> dict[str, Any] | None:
    """``call(**params)[key]``, or ``None`` when AWS answers ResourceNotFoundException.

    Other botocore errors propagate: the caller turns them into ``fail_json_aws``.
    """
    try:
        return call(aws_retry=True, **params)[key]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def to_result(resource: dict[str, Any] | None, keep: Iterable[str] = ()) -> dict[str, Any]:
    """snake_case a boto3 answer for a module's return (dates as ISO text).

    The keys of ``tags`` and of the fields named in ``keep`` (such as a node group's Kubernetes
    ``labels``) are left as they are.
    """
    if not resource:
        return {}
    return camel_dict_to_snake_dict(normalize_boto3_result(resource), ignore_list=["tags", "Tags", *keep])
