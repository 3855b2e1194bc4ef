#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecr_repository
version_added: 0.1.0
short_description: Create or update an ECR repository with immutable tags and exclusion filters
description:
  - Creates a private ECR repository, or brings an existing one to the given tag mutability, scan on push
    and lifecycle policy.
  - Tag mutability may exclude some tags by wildcard filters (C(IMMUTABLE_WITH_EXCLUSION)); every tag is
    then immutable except those, so a pipeline's moving tags (C(dev), C(stable)) can move while its version
    tags can never be overwritten. M(community.aws.ecs_ecr) offers only C(mutable) and C(immutable) and resets
    the filters whenever it runs.
  - Deleting a repository is left to M(community.aws.ecs_ecr) (C(state=absent)).
author:
  - Science platform deployment kit maintainers
options:
  name:
    description: The repository's name, such as C(sciplat-envs/hst).
    type: str
    required: true
  image_tag_mutability:
    description:
      - C(immutable) refuses to move a tag that exists (C(ImageTagAlreadyExistsException)), except the tags
        O(image_tag_mutability_exclusions) names; C(mutable) lets every tag move, except those.
    type: str
    choices: [mutable, immutable]
    default: immutable
  image_tag_mutability_exclusions:
    description:
      - Tags that do not follow O(image_tag_mutability), as wildcard filters (C(*) matches any characters,
        the filter matches the whole tag), at most 5, each of 1 to 128 characters from C([0-9a-zA-Z._*-]).
      - Empty for none.
    type: list
    elements: str
    default: []
  scan_on_push:
    description: Scan every pushed image for vulnerabilities (basic scanning).
    type: bool
    default: true
  lifecycle_policy:
    description:
      - The lifecycle policy document (C(rules)); compared as data. Omitted = the policy is left as it is.
    type: dict
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made; a repository that does not
    exist yet is reported as to be created.
  - Bad filters are refused before any call, naming the option.
"""

EXAMPLES = r"""
- name: An environment's repository whose version tags can never be overwritten; dev and stable move.
  sciplat.platform.ecr_repository:
    name: sciplat-envs/hst
    image_tag_mutability: immutable
    image_tag_mutability_exclusions: [dev, stable]
    lifecycle_policy:
      rules:
        - rulePriority: 1
          selection: {tagStatus: untagged, countType: imageCountMoreThan, countNumber: 10}
          action: {type: expire}
"""

RETURN = r"""
repository:
  description: The repository after the run (in check mode, what it would be).
  returned: always
  type: dict
  contains:
    repository_name:
      description: The repository's name.
      type: str
    repository_uri:
      description: C(<account>.dkr.ecr.<region>.amazonaws.com/<name>); empty in check mode before it exists.
      type: str
    image_tag_mutability:
      description: C(MUTABLE), C(IMMUTABLE), C(MUTABLE_WITH_EXCLUSION) or C(IMMUTABLE_WITH_EXCLUSION).
      type: str
    image_tag_mutability_exclusions:
      description: The exclusion filters, sorted.
      type: list
      elements: str
    scan_on_push:
      description: Whether pushed images are scanned.
      type: bool
created:
  description: Whether the repository was (or, in check mode, would be) created.
  returned: always
  type: bool
"""

import contextlib
import json
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

FILTER = re.compile(r"^[0-9a-zA-Z._*-]{1,128}$")
MAX_FILTERS = 5


def wanted_mutability(params: dict[str, Any]) -> str:
    base = params["image_tag_mutability"].upper()
    return f"{base}_WITH_EXCLUSION" if params["image_tag_mutability_exclusions"] else base


def state(repository: dict[str, Any] | None, policy: dict[str, Any] | None) -> dict[str, Any]:
    """The comparable state of a repository as DescribeRepositories and GetLifecyclePolicy give it."""
    if repository is None:
        return {}
    return {
        "image_tag_mutability": repository["imageTagMutability"],
        "image_tag_mutability_exclusions": sorted(
            f["filter"] for f in repository.get("imageTagMutabilityExclusionFilters") or []
        ),
        "scan_on_push": repository.get("imageScanningConfiguration", {}).get("scanOnPush", False),
        "lifecycle_policy": policy,
    }


def read(
    module: AnsibleAWSModule, ecr: Any, name: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    try:
        (repository,) = ecr.describe_repositories(aws_retry=True, repositoryNames=[name])["repositories"]
    except is_boto3_error_code("RepositoryNotFoundException"):
        return None, None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't read the ECR repository {name}")
    try:
        text = ecr.get_lifecycle_policy(aws_retry=True, repositoryName=name)["lifecyclePolicyText"]
    except is_boto3_error_code("LifecyclePolicyNotFoundException"):
        return repository, None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't read the lifecycle policy of the ECR repository {name}")
    return repository, json.loads(text)


def converge(
    module: AnsibleAWSModule, ecr: Any, name: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    filters = [{"filterType": "WILDCARD", "filter": f} for f in after["image_tag_mutability_exclusions"]]
    mutability = {"imageTagMutability": after["image_tag_mutability"]}
    if filters:
        mutability["imageTagMutabilityExclusionFilters"] = filters
    try:
        if not before:
            ecr.create_repository(
                aws_retry=True,
                repositoryName=name,
                imageScanningConfiguration={"scanOnPush": after["scan_on_push"]},
                **mutability,
            )
        else:
            if any(
                before[k] != after[k] for k in ("image_tag_mutability", "image_tag_mutability_exclusions")
            ):
                ecr.put_image_tag_mutability(aws_retry=True, repositoryName=name, **mutability)
            if before["scan_on_push"] != after["scan_on_push"]:
                ecr.put_image_scanning_configuration(
                    aws_retry=True,
                    repositoryName=name,
                    imageScanningConfiguration={"scanOnPush": after["scan_on_push"]},
                )
        if (
            after["lifecycle_policy"] is not None
            and before.get("lifecycle_policy") != after["lifecycle_policy"]
        ):
            ecr.put_lifecycle_policy(
                aws_retry=True, repositoryName=name, lifecyclePolicyText=json.dumps(after["lifecycle_policy"])
            )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Couldn't create or update the ECR repository {name}")


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            image_tag_mutability=dict(type="str", choices=["mutable", "immutable"], default="immutable"),
            image_tag_mutability_exclusions=dict(type="list", elements="str", default=[]),
            scan_on_push=dict(type="bool", default=True),
            lifecycle_policy=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    name = module.params["name"]
    exclusions = module.params["image_tag_mutability_exclusions"]
    bad = [f for f in exclusions if not FILTER.match(f)]
    if bad or len(exclusions) > MAX_FILTERS:
        module.fail_json(
            msg=f"image_tag_mutability_exclusions is {exclusions!r}; it accepts at most {MAX_FILTERS} "
            "wildcard filters, each 1 to 128 characters from [0-9a-zA-Z._*-]. Nothing was changed."
        )
    ecr = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff(retries=5))
    repository, policy = read(module, ecr, name)
    before = state(repository, policy)
    after = {
        "image_tag_mutability": wanted_mutability(module.params),
        "image_tag_mutability_exclusions": sorted(set(exclusions)),
        "scan_on_push": module.params["scan_on_push"],
        "lifecycle_policy": module.params["lifecycle_policy"]
        if module.params["lifecycle_policy"] is not None
        else before.get("lifecycle_policy"),
    }
    changed = before != after
    if changed and not module.check_mode:
        converge(module, ecr, name, before, after)
        repository, _ = read(module, ecr, name)
    result: dict[str, Any] = {
        "changed": changed,
        "created": not before,
        "repository": {
            "repository_name": name,
            "repository_uri": (repository or {}).get("repositoryUri", ""),
            **{k: v for k, v in after.items() if k != "lifecycle_policy"},
        },
    }
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
