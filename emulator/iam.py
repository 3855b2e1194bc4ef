"""IAM OIDC providers: the client-ID operations moto lacks, and NoSuchEntity on deleting a missing one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import EmptyResult
from moto.iam import urls as iam_urls
from moto.iam.models import IAMBackend
from moto.iam.responses import IamResponse

from emulator.patching import route, wrap


class EmulatedIamResponse(IamResponse):
    def add_client_id_to_open_id_connect_provider(self) -> EmptyResult:
        """Idempotent, as on AWS:
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddClientIDToOpenIDConnectProvider.html"""
        provider = self.backend.get_open_id_connect_provider(self._get_param("OpenIDConnectProviderArn"))
        client_id = self._get_param("ClientID")
        if client_id not in provider.client_id_list:
            provider.client_id_list.append(client_id)
        return EmptyResult()

    def remove_client_id_from_open_id_connect_provider(self) -> EmptyResult:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_RemoveClientIDFromOpenIDConnectProvider.html"""
        provider = self.backend.get_open_id_connect_provider(self._get_param("OpenIDConnectProviderArn"))
        client_id = self._get_param("ClientID")
        if client_id in provider.client_id_list:
            provider.client_id_list.remove(client_id)
        return EmptyResult()


def _delete_open_id_connect_provider(original: Callable[..., Any], backend: Any, arn: str) -> None:
    """NoSuchEntity for a missing provider:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteOpenIDConnectProvider.html"""
    backend.get_open_id_connect_provider(arn)
    original(backend, arn)


def install() -> None:
    route(iam_urls, EmulatedIamResponse)
    wrap(IAMBackend, "delete_open_id_connect_provider")(_delete_open_id_connect_provider)
