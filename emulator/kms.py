"""KMS: ScheduleKeyDeletion and CancelKeyDeletion accept a key ARN as well as a key ID, as AWS does (moto
looked the ARN up as an ID and answered with a server error)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.kms.models import KmsBackend

from emulator.patching import wrap


def _schedule_key_deletion(
    original: Callable[..., Any], backend: Any, key_id: str, pending_window_in_days: int
) -> Any:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html:
    "Specify the key ID or key ARN of the KMS key"."""
    return original(backend, backend.get_key_id(key_id), pending_window_in_days)


def _cancel_key_deletion(original: Callable[..., Any], backend: Any, key_id: str) -> Any:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_CancelKeyDeletion.html (key ID or key ARN)."""
    return original(backend, backend.get_key_id(key_id))


def install() -> None:
    wrap(KmsBackend, "schedule_key_deletion")(_schedule_key_deletion)
    wrap(KmsBackend, "cancel_key_deletion")(_cancel_key_deletion)
