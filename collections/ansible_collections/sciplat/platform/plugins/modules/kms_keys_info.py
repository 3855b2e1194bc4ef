#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: kms_keys_info
version_added: 0.1.0
short_description: Read several KMS keys at once by alias, with their rotation, tags and key policy
description:
  - Lists the region's aliases once, then reads each key an alias points to (DescribeKey,
    GetKeyRotationStatus, ListResourceTags, GetKeyPolicy), so that a role reads its keys once and calls
    M(amazon.aws.kms_key) only for a key that differs (the P(sciplat.platform.kms_key_is_current#test)
    test compares by that module's own rules). M(amazon.aws.kms_key) makes about seventeen reads for a
    key it leaves alone.
  - An alias that does not exist is left out of RV(kms_keys); that is not an error. A read KMS refuses
    (AccessDenied) leaves that field null, which counts as a difference. Any other failure fails the task
    naming the aliases.
author:
  - Science platform deployment kit maintainers
options:
  aliases:
    description: The keys' aliases, with or without the C(alias/) prefix. Duplicates are read once.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Reads only; the same in check mode.
"""

EXAMPLES = r"""
- name: Read the cluster's keys once.
  sciplat.platform.kms_keys_info:
    aliases: [archive-eks-secrets, archive-eks-logs]
  register: cluster_keys

- name: Create the secrets key, only when it differs.
  amazon.aws.kms_key:
    alias: "{{ secrets_key.alias }}"
    description: "{{ secrets_key.description }}"
    enable_key_rotation: true
  vars:
    secrets_key: {alias: archive-eks-secrets, description: Secrets of archive., enable_key_rotation: true}
  when: secrets_key is not sciplat.platform.kms_key_is_current(cluster_keys.kms_keys)
"""

RETURN = r"""
kms_keys:
  description: The keys that the aliases point to, by alias (without C(alias/)).
  returned: always
  type: dict
  contains:
    key_arn:
      description: The key's ARN.
      type: str
    key_id:
      description: The key's ID.
      type: str
    key_state:
      description: The key's state (C(Enabled), C(Disabled), C(PendingDeletion), ...).
      type: str
    description:
      description: The key's description.
      type: str
    enable_key_rotation:
      description: Whether automatic rotation is on (null when KMS refused to tell).
      type: bool
    tags:
      description: The key's tags (null when KMS refused to tell).
      type: dict
    policy:
      description: The key's default policy as a document (null when KMS refused to tell).
      type: dict
  sample:
    archive-eks-secrets:
      key_arn: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
      key_id: 1234abcd-12ab-34cd-56ef-1234567890ab
      key_state: Enabled
      description: Envelope encryption of the Kubernetes secrets of EKS cluster archive.
      enable_key_rotation: true
      tags: {Site: archive}
      policy: {Version: "2012-10-17", Statement: []}
"""

import contextlib
import json
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.sciplat.platform.plugins.module_utils.kms import alias_name


def read_keys(client: Any, aliases: list[str]) -> dict[str, dict[str, Any]]:
    """The keys that ``aliases`` point to, by alias (without ``alias/``): ARN, ID, state, description,
    rotation, tags and the default key policy. An alias that does not exist is left out. A read that
    KMS refuses (AccessDenied) leaves that field None, which no desired value matches.

    ``client`` is an AnsibleAWSModule client with a retry decorator (calls pass ``aws_retry``)."""
    wanted = {alias_name(alias) for alias in aliases}
    targets = {
        alias_name(entry["AliasName"]): entry["TargetKeyId"]
        for entry in paginated_query_with_retries(client, "list_aliases")["Aliases"]
        if alias_name(entry["AliasName"]) in wanted and "TargetKeyId" in entry
    }
    return {alias: _read_key(client, key_id) for alias, key_id in sorted(targets.items())}


def _read_key(client: Any, key_id: str) -> dict[str, Any]:
    metadata = client.describe_key(aws_retry=True, KeyId=key_id)["KeyMetadata"]
    key = {
        "key_arn": metadata["Arn"],
        "key_id": metadata["KeyId"],
        "key_state": metadata["KeyState"],
        "description": metadata.get("Description", ""),
        "enable_key_rotation": None,
        "tags": None,
        "policy": None,
    }
    try:
        rotation = client.get_key_rotation_status(aws_retry=True, KeyId=key_id)
        key["enable_key_rotation"] = rotation["KeyRotationEnabled"]
    except is_boto3_error_code(["AccessDeniedException", "UnsupportedOperationException"]):
        pass
    try:
        tags: list[dict[str, str]] = []
        params: dict[str, Any] = {"KeyId": key_id}
        while True:  # list_resource_tags has no paginator
            page = client.list_resource_tags(aws_retry=True, **params)
            tags.extend(page.get("Tags", []))
            if not page.get("Truncated") or not page.get("NextMarker"):
                break
            params["Marker"] = page["NextMarker"]
        key["tags"] = boto3_tag_list_to_ansible_dict(tags, "TagKey", "TagValue")
    except is_boto3_error_code("AccessDeniedException"):
        pass
    try:
        policy = client.get_key_policy(aws_retry=True, KeyId=key_id, PolicyName="default")
        key["policy"] = json.loads(policy["Policy"])
    except is_boto3_error_code("AccessDeniedException"):
        pass
    return key


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={"aliases": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    kms = module.client("kms", retry_decorator=AWSRetry.jittered_backoff())
    try:
        keys = read_keys(kms, module.params["aliases"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cannot read the KMS keys {', '.join(module.params['aliases'])}")
    module.exit_json(changed=False, kms_keys=keys)


if __name__ == "__main__":
    main()
