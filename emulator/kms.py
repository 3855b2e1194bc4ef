"""KMS: the key state operations accept a key ARN as well as a key ID, as AWS does (moto looked the
ARN up as an ID and answered with a server error), and a key pending deletion cannot be enabled or
disabled (AWS answers KMSInvalidStateException; moto enabled it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.kms.models import KmsBackend

from emulator.patching import wrap


class KMSInvalidStateException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("KMSInvalidStateException", message)


def _schedule_key_deletion(
    original: Callable[..., Any], backend: Any, key_id: str, pending_window_in_days: int
) -> Any:
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html:
    "Specify the key ID or key ARN of the KMS key"."""
    return original(backend, backend.get_key_id(key_id), pending_window_in_days)


def _by_id_or_arn(original: Callable[..., Any], backend: Any, key_id: str) -> Any:
    """CancelKeyDeletion, EnableKey, DisableKey: "key ID or key ARN" in each API reference."""
    return original(backend, backend.get_key_id(key_id))


def _not_pending_deletion(original: Callable[..., Any], backend: Any, key_id: str) -> Any:
    """EnableKey and DisableKey of a key pending deletion: KMSInvalidStateException (cancel the
    deletion first, which leaves the key disabled)."""
    key = backend.keys.get(backend.get_key_id(key_id))
    if key is not None and key.key_state == "PendingDeletion":
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
    return _by_id_or_arn(original, backend, key_id)


def install() -> None:
    wrap(KmsBackend, "schedule_key_deletion")(_schedule_key_deletion)
    wrap(KmsBackend, "cancel_key_deletion")(_by_id_or_arn)
    wrap(KmsBackend, "enable_key")(_not_pending_deletion)
    wrap(KmsBackend, "disable_key")(_not_pending_deletion)
