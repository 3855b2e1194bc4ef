#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_roles_info
version_added: 0.1.0
short_description: Read several IAM roles at once, with their policies and tags
description:
  - Reads each named role (GetRole, ListAttachedRolePolicies, ListRolePolicies and GetRolePolicy for
    each inline policy) in one task, so that a role's stage reads its roles once and calls
    M(amazon.aws.iam_role) or M(amazon.aws.iam_policy) only for a role that differs (the
    P(sciplat.platform.iam_role_is_current#test) test compares by those modules' own rules).
  - A role that does not exist is left out of RV(roles); that is not an error. Any other failure
    (access denied, throttling) fails the task naming the role.
author:
  - Science platform deployment kit maintainers
options:
  names:
    description: The roles' names. Duplicates are read once.
    type: list
    elements: str
    required: true
  inline_policies:
    description: Read each inline policy's document too (one GetRolePolicy per policy).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Reads only; the same in check mode.
"""

EXAMPLES = r"""
- name: Read the cluster's roles once.
  sciplat.platform.iam_roles_info:
    names: [archive-eks-cluster, archive-eks-node]
  register: cluster_roles

- name: Create the nodes' role, only when it differs.
  amazon.aws.iam_role: "{{ node_role }}"
  when: node_role is not sciplat.platform.iam_role_is_current(cluster_roles.roles)
"""

RETURN = r"""
roles:
  description: The roles that exist, by name.
  returned: always
  type: dict
  contains:
    arn:
      description: The role's ARN.
      type: str
    role_id:
      description: The role's ID.
      type: str
    assume_role_policy_document:
      description: The trust policy.
      type: dict
    description:
      description: The role's description (null when it has none).
      type: str
    tags:
      description: The role's tags.
      type: dict
    managed_policy_arns:
      description: The ARNs of the managed policies attached.
      type: list
      elements: str
    inline_policies:
      description: Each inline policy's document, by policy name (empty without O(inline_policies)).
      type: dict
  sample:
    archive-eks-node:
      arn: arn:aws:iam::123456789012:role/archive-eks-node
      role_id: AROAEXAMPLE
      assume_role_policy_document: {Version: "2012-10-17", Statement: []}
      description: Nodes of EKS cluster archive.
      tags: {Site: archive}
      managed_policy_arns: [arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy]
      inline_policies: {}
"""

import contextlib
import json
from typing import Any
from urllib.parse import unquote

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict


def _document(value: Any) -> Any:
    """A policy document as a dict: boto3 decodes IAM's URL-encoded JSON, a stub may not."""
    if isinstance(value, str):
        return json.loads(unquote(value))
    return value


def read_roles(client: Any, names: list[str], inline_policies: bool = True) -> dict[str, dict[str, Any]]:
    """The roles of ``names`` that exist, by name: ARN, ID, trust policy, description, tags, the ARNs of
    the managed policies attached and (``inline_policies``) each inline policy's document.

    ``client`` is an AnsibleAWSModule client with a retry decorator (calls pass ``aws_retry``)."""
    roles: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(names):
        try:
            role = client.get_role(aws_retry=True, RoleName=name)["Role"]
        except is_boto3_error_code("NoSuchEntity"):
            continue
        attached = paginated_query_with_retries(client, "list_attached_role_policies", RoleName=name)
        inline: dict[str, Any] = {}
        if inline_policies:
            listed = paginated_query_with_retries(client, "list_role_policies", RoleName=name)
            for policy_name in listed["PolicyNames"]:
                answer = client.get_role_policy(aws_retry=True, RoleName=name, PolicyName=policy_name)
                inline[policy_name] = _document(answer["PolicyDocument"])
        roles[name] = {
            "arn": role["Arn"],
            "role_id": role["RoleId"],
            "assume_role_policy_document": _document(role.get("AssumeRolePolicyDocument")),
            "description": role.get("Description"),
            "tags": boto3_tag_list_to_ansible_dict(role.get("Tags", [])),
            "managed_policy_arns": [policy["PolicyArn"] for policy in attached["AttachedPolicies"]],
            "inline_policies": inline,
        }
    return roles


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "inline_policies": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    iam = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
    try:
        roles = read_roles(iam, module.params["names"], module.params["inline_policies"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cannot read the IAM roles {', '.join(module.params['names'])}")
    module.exit_json(changed=False, roles=roles)


if __name__ == "__main__":
    main()
