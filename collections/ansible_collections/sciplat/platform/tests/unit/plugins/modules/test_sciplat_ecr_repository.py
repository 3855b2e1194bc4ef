"""sciplat.platform.ecr_repository, with stubbed ECR answers."""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.sciplat.platform.plugins.modules import ecr_repository

NAME = "sciplat-envs/hst"
URI = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{NAME}"
CHANNELS = [{"filterType": "WILDCARD", "filter": "dev"}, {"filterType": "WILDCARD", "filter": "stable"}]
POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 10},
            "action": {"type": "expire"},
        }
    ]
}
ARGS = {
    "name": NAME,
    "image_tag_mutability": "immutable",
    "image_tag_mutability_exclusions": ["stable", "dev"],
    "lifecycle_policy": POLICY,
}


def repository(
    mutability: str, filters: list[dict[str, str]] | None = None, scan: bool = True
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "repositoryName": NAME,
        "repositoryUri": URI,
        "imageTagMutability": mutability,
        "imageScanningConfiguration": {"scanOnPush": scan},
    }
    if filters:
        found["imageTagMutabilityExclusionFilters"] = filters
    return found


def existing(stubs: Any, found: dict[str, Any], policy: dict[str, Any] | None = POLICY) -> None:
    stubs.add("ecr", "describe_repositories", {"repositories": [found]}, {"repositoryNames": [NAME]})
    if policy is None:
        stubs.error("ecr", "get_lifecycle_policy", "LifecyclePolicyNotFoundException", "none")
    else:
        stubs.add("ecr", "get_lifecycle_policy", {"lifecyclePolicyText": json.dumps(policy)})


def test_creates_an_immutable_repository_with_its_channel_tags_excluded(run_module, stubs) -> None:
    stubs.error("ecr", "describe_repositories", "RepositoryNotFoundException", "missing")
    stubs.add(
        "ecr",
        "create_repository",
        {"repository": repository("IMMUTABLE_WITH_EXCLUSION", CHANNELS)},
        {
            "repositoryName": NAME,
            "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": CHANNELS,
            "imageScanningConfiguration": {"scanOnPush": True},
        },
    )
    stubs.add(
        "ecr",
        "put_lifecycle_policy",
        {},
        {"repositoryName": NAME, "lifecyclePolicyText": json.dumps(POLICY)},
    )
    existing(stubs, repository("IMMUTABLE_WITH_EXCLUSION", CHANNELS))

    out = run_module(ecr_repository, ARGS)

    assert not out.failed, out.result
    assert out.result["changed"] is True and out.result["created"] is True
    assert out.result["repository"]["repository_uri"] == URI
    assert out.result["repository"]["image_tag_mutability"] == "IMMUTABLE_WITH_EXCLUSION"
    stubs.assert_done()


def test_a_mutable_repository_is_made_immutable_and_the_diff_says_so(run_module, stubs) -> None:
    existing(stubs, repository("MUTABLE"))
    stubs.add(
        "ecr",
        "put_image_tag_mutability",
        {},
        {
            "repositoryName": NAME,
            "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": CHANNELS,
        },
    )
    existing(stubs, repository("IMMUTABLE_WITH_EXCLUSION", CHANNELS))

    out = run_module(ecr_repository, ARGS, diff=True)

    assert out.result["changed"] is True and out.result["created"] is False
    diff = out.result["diff"]
    assert (diff["before"]["image_tag_mutability"], diff["after"]["image_tag_mutability"]) == (
        "MUTABLE",
        "IMMUTABLE_WITH_EXCLUSION",
    )
    assert diff["after"]["image_tag_mutability_exclusions"] == ["dev", "stable"]
    stubs.assert_done()


def test_a_repository_as_wanted_is_left_alone(run_module, stubs) -> None:
    existing(stubs, repository("IMMUTABLE_WITH_EXCLUSION", list(reversed(CHANNELS))))
    out = run_module(ecr_repository, ARGS)
    assert out.result["changed"] is False
    stubs.assert_done()


def test_check_mode_only_reads(run_module, stubs) -> None:
    existing(stubs, repository("MUTABLE", scan=False), policy=None)
    out = run_module(ecr_repository, ARGS, check_mode=True)
    assert out.result["changed"] is True
    stubs.assert_done()  # no put_* call was stubbed: one would have failed the run


def test_check_mode_on_a_new_account_reports_the_creation(run_module, stubs) -> None:
    stubs.error("ecr", "describe_repositories", "RepositoryNotFoundException", "missing")
    out = run_module(ecr_repository, ARGS, check_mode=True, diff=True)
    assert out.result["changed"] is True and out.result["created"] is True
    assert out.result["diff"]["before"] == {}
    assert out.result["repository"]["repository_uri"] == ""
    stubs.assert_done()


def test_bad_filters_are_refused_before_any_call(run_module, stubs) -> None:
    out = run_module(ecr_repository, {**ARGS, "image_tag_mutability_exclusions": ["dev", "rc?"]})
    assert out.failed
    assert "image_tag_mutability_exclusions" in out.result["msg"] and "[0-9a-zA-Z._*-]" in out.result["msg"]
    stubs.assert_done()
