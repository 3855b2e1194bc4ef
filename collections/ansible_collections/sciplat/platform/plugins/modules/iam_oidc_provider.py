#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_oidc_provider
version_added: 0.1.0
short_description: Manage IAM OpenID Connect identity providers (for EKS IRSA)
description:
  - Create, update and delete an IAM OpenID Connect (OIDC) identity provider, typically for the
    OIDC issuer of an EKS cluster so that Kubernetes service accounts can assume IAM roles (IRSA).
  - amazon.aws and community.aws have no module for IAM OIDC providers.
  - The provider is found by its URL. Its client IDs (audiences), thumbprints and tags are brought
    in line with the parameters in place; the URL of a provider cannot change.
author:
  - Science platform deployment kit maintainers
options:
  url:
    description:
      - The issuer URL, for an EKS cluster the C(identity.oidc.issuer) of the cluster, for example
        C(https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE).
      - Must start with C(https://). A trailing C(/) is ignored.
    type: str
    required: true
    aliases: [issuer_url]
  client_ids:
    description:
      - The audiences allowed to use the provider. IRSA uses C(sts.amazonaws.com).
      - The provider ends up with exactly this list (order does not matter).
    type: list
    elements: str
    default: [sts.amazonaws.com]
  thumbprints:
    description:
      - SHA-1 fingerprints (40 hexadecimal characters) of the issuer's certificate authority, at
        most five.
      - When given, the provider ends up with exactly these thumbprints.
      - When omitted, an existing provider's thumbprints are left alone, and a new provider gets
        V(9e99a48a9960b14926bb7f3b02e22da2b0ab7280) if the URL is an EKS issuer
        (C(oidc.eks.<region>.amazonaws.com)); for any other URL IAM computes the thumbprint
        itself from the issuer's certificate chain.
      - Why a fixed value for EKS issuers. IAM no longer validates the thumbprint of issuers whose
        certificate chains to a root CA in its library of trusted CAs; it keeps the value but
        does not use it (IAM API reference, CreateOpenIDConnectProvider and
        UpdateOpenIDConnectProviderThumbprint,
        U(https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html)).
        The EKS issuers present Amazon Trust Services certificates, which are in that library.
        A value is still stored, and the AWS Knowledge Center explains that the thumbprint of an
        EKS OIDC provider is the one of the top (root) CA certificate of the issuer's chain
        (U(https://repost.aws/knowledge-center/eks-error-invalid-identity-token)); that
        certificate is the same for every EKS region and its SHA-1 fingerprint is the value above,
        the one EKS tooling and examples have long used.
      - Computing a thumbprint needs a TLS connection to the issuer, which an offline or emulated
        run cannot make, so the module never tries.
    type: list
    elements: str
  state:
    description: Whether the provider should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - IAM is a global service; the region only selects the endpoint.
"""

EXAMPLES = r"""
- name: Register the cluster's OIDC issuer for IAM roles for service accounts.
  sciplat.platform.iam_oidc_provider:
    url: "{{ cluster.identity.oidc.issuer }}"
    tags:
      site: archive
  register: oidc

- name: Pin the thumbprints of an issuer outside EKS.
  sciplat.platform.iam_oidc_provider:
    url: https://token.actions.githubusercontent.com
    client_ids: [sts.amazonaws.com]
    thumbprints:
      - 6938fd4d98bab03faadb97b34396831e3780aea1

- name: Remove the provider of a deleted cluster.
  sciplat.platform.iam_oidc_provider:
    url: "{{ old_issuer }}"
    state: absent
"""

RETURN = r"""
arn:
  description: ARN of the provider.
  returned: when state is present (in check mode, only when the provider exists)
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789ABCDEF
url:
  description: The issuer URL, with C(https://).
  returned: when state is present
  type: str
  sample: https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
client_ids:
  description: The audiences of the provider, sorted.
  returned: when state is present
  type: list
  elements: str
  sample: [sts.amazonaws.com]
thumbprints:
  description: The thumbprints of the provider, sorted.
  returned: when state is present
  type: list
  elements: str
  sample: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]
tags:
  description: Tags of the provider.
  returned: when state is present
  type: dict
  sample: {"site": "archive"}
create_date:
  description: When the provider was created.
  returned: when the provider exists
  type: str
  sample: "2026-11-25T10:00:00+00:00"
"""

import contextlib
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.sciplat.platform.plugins.module_utils.plan import (
    KNOWN_AFTER_APPLY,
    is_known_after_apply,
)
from ansible_collections.sciplat.platform.plugins.module_utils.tagging import (
    TAGGING_ARGUMENT_SPEC,
    tag_changes,
    tags_after,
)

# Root CA thumbprint of the EKS OIDC issuers; see the documentation of `thumbprints` for the sources.
EKS_ISSUER_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
EKS_ISSUER = re.compile(r"^oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/[A-Za-z0-9]+$")
THUMBPRINT = re.compile(r"^[0-9a-fA-F]{40}$")
MAX_THUMBPRINTS = 5


def normalize_url(url: str) -> str:
    """IAM's form of an issuer URL: no scheme, no trailing slash."""
    if is_known_after_apply(url):
        return url
    return url[len("https://") :].rstrip("/")


def validate(params: dict[str, Any], check_mode: bool = False) -> str | None:
    """An error message naming the bad parameter, or None.

    In check mode the URL may be "(known after apply)": the issuer of a cluster a check run would create.
    """
    url = params["url"]
    if is_known_after_apply(url) and params["state"] == "present" and check_mode:
        return None
    if not url.startswith("https://"):
        return f"url must start with https:// (IAM accepts only HTTPS issuers), got {url!r}"
    rest = normalize_url(url)
    if not rest or "?" in rest or "#" in rest:
        return f"url must be an issuer URL with a host and no query or fragment, got {url!r}"
    thumbprints = params["thumbprints"]
    if thumbprints is not None:
        bad = [t for t in thumbprints if not THUMBPRINT.match(t)]
        if bad:
            return (
                "thumbprints must be SHA-1 fingerprints of 40 hexadecimal characters (no colons),"
                f" got {', '.join(repr(t) for t in bad)}"
            )
        if not 1 <= len(set(t.lower() for t in thumbprints)) <= MAX_THUMBPRINTS:
            return f"thumbprints must list 1 to {MAX_THUMBPRINTS} fingerprints, got {len(thumbprints)}"
    bad_ids = [c for c in params["client_ids"] if not 1 <= len(c) <= 255]
    if bad_ids:
        return f"client_ids entries must be 1 to 255 characters long, got {bad_ids!r}"
    return None


class OidcProviderManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.url = normalize_url(module.params["url"])
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    def fail_aws(self, e: Exception, action: str) -> None:
        self.module.fail_json_aws(e, msg=f"Couldn't {action} the IAM OIDC provider for https://{self.url}")

    def find(self) -> dict[str, Any] | None:
        """The provider for the URL, as {arn, url, client_ids, thumbprints, tags, create_date}."""
        if is_known_after_apply(self.url):
            return None  # the issuer of a cluster not created yet (check mode): no provider has it
        try:
            listed = self.client.list_open_id_connect_providers(aws_retry=True)["OpenIDConnectProviderList"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "list")
        arn = next((p["Arn"] for p in listed if p["Arn"].split(":oidc-provider/", 1)[-1] == self.url), None)
        if arn is None:
            return None
        return self.get(arn)

    def get(self, arn: str) -> dict[str, Any]:
        try:
            found = self.client.get_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "read")
        created = found.get("CreateDate")
        return {
            "arn": arn,
            "url": "https://" + (found.get("Url") or self.url).removeprefix("https://").rstrip("/"),
            "client_ids": sorted(found.get("ClientIDList") or []),
            "thumbprints": sorted(t.lower() for t in found.get("ThumbprintList") or []),
            "tags": boto3_tag_list_to_ansible_dict(found.get("Tags") or []),
            "create_date": created.isoformat() if hasattr(created, "isoformat") else created,
        }

    @staticmethod
    def view(provider: dict[str, Any] | None) -> dict[str, Any]:
        if not provider:
            return {}
        return {k: provider.get(k) for k in ("url", "client_ids", "thumbprints", "tags")}

    # --- present -----------------------------------------------------------------------------

    def ensure_present(self) -> dict[str, Any]:
        provider = self.find()
        if provider is None:
            return self.create()
        return self.update(provider)

    def create(self) -> dict[str, Any]:
        client_ids = sorted(set(self.params["client_ids"]))
        thumbprints = self.params["thumbprints"]
        if thumbprints is None and EKS_ISSUER.match(self.url):
            thumbprints = [EKS_ISSUER_THUMBPRINT]
        url = self.url if self.url == KNOWN_AFTER_APPLY else f"https://{self.url}"
        request: dict[str, Any] = {"Url": url, "ClientIDList": client_ids}
        if thumbprints is not None:
            request["ThumbprintList"] = sorted(set(t.lower() for t in thumbprints))
        tags = {k: str(v) for k, v in (self.params["tags"] or {}).items()}
        if tags:
            request["Tags"] = ansible_dict_to_boto3_tag_list(tags)
        planned = {
            "url": request["Url"],
            "client_ids": client_ids,
            "thumbprints": request.get("ThumbprintList", []),
            "tags": tags,
        }
        self.changed = True
        self.diff = {"before": {}, "after": self.view(planned)}
        if self.module.check_mode:
            return planned
        try:
            created = self.client.create_open_id_connect_provider(aws_retry=True, **request)
            arn = created["OpenIDConnectProviderArn"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "create")
        return self.get(arn)

    def update(self, provider: dict[str, Any]) -> dict[str, Any]:
        arn = provider["arn"]
        wanted_ids = set(self.params["client_ids"])
        to_add = sorted(wanted_ids - set(provider["client_ids"]))
        to_remove = sorted(set(provider["client_ids"]) - wanted_ids)
        thumbprints = provider["thumbprints"]
        if self.params["thumbprints"] is not None:
            wanted = sorted(set(t.lower() for t in self.params["thumbprints"]))
            if wanted != thumbprints:
                thumbprints = wanted
        tags_to_set, tags_to_unset = tag_changes(
            provider["tags"], self.params["tags"], self.params["purge_tags"]
        )

        after = dict(provider)
        after["client_ids"] = sorted(wanted_ids)
        after["thumbprints"] = thumbprints
        after["tags"] = tags_after(provider["tags"], tags_to_set, tags_to_unset)
        self.diff = {"before": self.view(provider), "after": self.view(after)}
        self.changed = after != provider
        if not self.changed or self.module.check_mode:
            return after

        try:
            if thumbprints != provider["thumbprints"]:
                self.client.update_open_id_connect_provider_thumbprint(
                    aws_retry=True, OpenIDConnectProviderArn=arn, ThumbprintList=thumbprints
                )
            # Add before removing: the provider never has an empty audience list in between.
            for client_id in to_add:
                self.client.add_client_id_to_open_id_connect_provider(
                    aws_retry=True, OpenIDConnectProviderArn=arn, ClientID=client_id
                )
            for client_id in to_remove:
                self.client.remove_client_id_from_open_id_connect_provider(
                    aws_retry=True, OpenIDConnectProviderArn=arn, ClientID=client_id
                )
            if tags_to_unset:
                self.client.untag_open_id_connect_provider(
                    aws_retry=True, OpenIDConnectProviderArn=arn, TagKeys=tags_to_unset
                )
            if tags_to_set:
                self.client.tag_open_id_connect_provider(
                    aws_retry=True,
                    OpenIDConnectProviderArn=arn,
                    Tags=ansible_dict_to_boto3_tag_list(tags_to_set),
                )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "update")
        return self.get(arn)

    # --- absent ------------------------------------------------------------------------------

    def ensure_absent(self) -> None:
        provider = self.find()
        self.diff = {"before": self.view(provider), "after": {}}
        if provider is None:
            return
        self.changed = True
        if self.module.check_mode:
            return
        try:
            self.client.delete_open_id_connect_provider(
                aws_retry=True, OpenIDConnectProviderArn=provider["arn"]
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "delete")


def main() -> None:
    argument_spec = dict(
        url=dict(type="str", required=True, aliases=["issuer_url"]),
        client_ids=dict(type="list", elements="str", default=["sts.amazonaws.com"]),
        thumbprints=dict(type="list", elements="str"),
        **TAGGING_ARGUMENT_SPEC,
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    problem = validate(module.params, module.check_mode)
    if problem:
        module.fail_json(msg=problem)

    # IAM is eventually consistent: a provider just created may not be readable yet.
    retry = AWSRetry.jittered_backoff(catch_extra_error_codes=["NoSuchEntity"])
    client = module.client("iam", retry_decorator=retry)
    manager = OidcProviderManager(module, client)
    result: dict[str, Any] = {}
    if module.params["state"] == "present":
        result = manager.ensure_present()
    else:
        manager.ensure_absent()
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()
