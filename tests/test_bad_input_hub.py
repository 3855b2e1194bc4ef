"""A bad hub inventory fails before any change, naming the variable and what it accepts.

Each case overrides tests/fixtures/hub-site (EKS backend, rendering only) with extra vars and runs
playbooks/hub.yml; the run must fail with the words listed, and the output directory (the only
thing the rendering creates) must not exist.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hub_eks import ROOT, render

PROFILES: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "tests" / "fixtures" / "hub-site" / "group_vars" / "all" / "hub.yml").read_text()
)["jupyterhub_profiles"]


def profiles_with(index: int, drop: tuple[str, ...] = (), **changes: Any) -> list[dict[str, Any]]:
    profiles = copy.deepcopy(PROFILES)
    profiles[index].update(changes)
    for key in drop:
        profiles[index].pop(key)
    return profiles


# A login a real site accepts: an identity provider, allowed groups, HTTPS on the load balancer.
REAL_SITE_LOGIN: dict[str, Any] = {
    "jupyterhub_enforce_security": True,
    "jupyterhub_authenticator": "github",
    "jupyterhub_oauth_client_id": "Iv1.8a61f9b3a7aba766",
    "jupyterhub_oauth_client_secret": "1f0a9c3b7d5e2f4a6b8c0d1e3f5a7b9c2d4e6f80",
    "jupyterhub_allowed_groups": ["astro-archive"],
    "jupyterhub_hostname": "hub.example.org",
    "jupyterhub_https": "acm",
    "jupyterhub_https_acm_certificate_arn": (
        "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    ),
}

# (case id, extra vars, words the error must contain)
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "profile-without-image",
        {"jupyterhub_profiles": profiles_with(0, drop=("image",))},
        ["jupyterhub_profiles", "image"],
    ),
    (
        "cpu-limit-below-guarantee",
        {"jupyterhub_profiles": profiles_with(0, cpu_guarantee=2, cpu_limit=1)},
        ["jupyterhub_profiles", "scipy", "cpu_limit", "at least cpu_guarantee"],
    ),
    (
        "memory-limit-below-guarantee",
        {"jupyterhub_profiles": profiles_with(1, mem_guarantee="4G", mem_limit="512M")},
        ["jupyterhub_profiles", "astro", "mem_limit", "at least mem_guarantee"],
    ),
    (
        "memory-size-unparsable",
        {"jupyterhub_profiles": profiles_with(1, mem_limit="lots")},
        ["jupyterhub_profiles", "astro", "mem_limit", "512M, 2G"],
    ),
    (
        "authenticator-unknown",
        {"jupyterhub_authenticator": "ldap"},
        ["jupyterhub_authenticator", "dummy", "github", "generic_oauth"],
    ),
    (
        "culler-timeout-not-a-number",
        {"jupyterhub_culler_timeout": "an hour"},
        ["jupyterhub_culler_timeout", "int"],
    ),
    (
        "culler-timeout-too-short",
        {"jupyterhub_culler_timeout": 5},
        ["jupyterhub_culler_timeout", "at least 60"],
    ),
    (
        "profile-slugs-duplicate",
        {"jupyterhub_profiles": profiles_with(1, slug="scipy")},
        ["jupyterhub_profiles", "scipy", "unique slug"],
    ),
    (
        "profile-slug-invalid",
        {"jupyterhub_profiles": profiles_with(1, slug="Astro Env")},
        ["jupyterhub_profiles", "Astro Env", "^[a-z0-9][a-z0-9-]*$"],
    ),
    (
        "image-latest",
        {"jupyterhub_profiles": profiles_with(0, image="quay.io/jupyter/scipy-notebook:latest")},
        ["jupyterhub_profiles", "scipy", ":latest", "repository@sha256"],
    ),
    (
        "image-untagged",
        {"jupyterhub_profiles": profiles_with(0, image="registry.example.org:5000/astro/notebook")},
        ["jupyterhub_profiles", "scipy", "no tag or digest", "repository:tag"],
    ),
    (
        "two-default-profiles",
        {"jupyterhub_profiles": profiles_with(0, default=True)},
        ["jupyterhub_profiles", "scipy, astro", "at most one"],
    ),
    (
        "oauth-without-secret",
        {
            "jupyterhub_authenticator": "github",
            "jupyterhub_oauth_client_id": "id",
            "jupyterhub_hostname": "hub.example.org",
        },
        ["jupyterhub_oauth_client_secret", "vault"],
    ),
    (
        "oauth-open-to-everyone",
        {
            "jupyterhub_authenticator": "github",
            "jupyterhub_oauth_client_id": "id",
            "jupyterhub_oauth_client_secret": "oauth-secret-value",
            "jupyterhub_hostname": "hub.example.org",
        },
        ["jupyterhub_allowed_users", "jupyterhub_allowed_groups", "every account"],
    ),
    (
        "acm-without-certificate",
        {"jupyterhub_https": "acm"},
        ["jupyterhub_https_acm_certificate_arn", "arn:aws:acm"],
    ),
    (
        "self-signed-on-eks",
        {"jupyterhub_https": "self_signed"},
        ["jupyterhub_https", "none, acm or letsencrypt"],
    ),
    (
        "user-pods-as-root",
        {"jupyterhub_eks_singleuser_uid": 0},
        ["jupyterhub_eks_singleuser_uid", "never run as root"],
    ),
    (
        "quota-below-largest-profile",
        {"jupyterhub_eks_quota_cpu": "2"},
        ["jupyterhub_eks_quota_cpu", "largest profile cpu_limit"],
    ),
    (
        "storage-quota-not-a-size",
        {"jupyterhub_quota_enabled": True, "jupyterhub_quota_default": "10 gigabytes"},
        ["jupyterhub_quota_default", "10 gigabytes", "500M, 10G, 1.5T"],
    ),
    (
        "storage-quota-override-not-a-size",
        {"jupyterhub_quota_users": {"alice": "lots"}},
        ["jupyterhub_quota_users.alice", "lots", "K, M, G or T"],
    ),
    (
        "storage-quota-warning-above-100",
        {"jupyterhub_quota_warn_percent": 120},
        ["jupyterhub_quota_warn_percent", "120", "from 0 to 100"],
    ),
    (
        "storage-quota-warning-negative",
        {"jupyterhub_quota_warn_percent": -5},
        ["jupyterhub_quota_warn_percent", "from 0 to 100"],
    ),
    (
        "storage-quota-for-an-unknown-group",
        {"jupyterhub_groups": {"staff": ["alice"]}, "jupyterhub_quota_groups": {"survey": "50G"}},
        ["jupyterhub_quota_groups", "survey", "not a group the hub knows", "staff"],
    ),
    (
        "storage-quota-recovery-profile-unknown",
        {"jupyterhub_quota_recovery_profile": "cleanup"},
        ["jupyterhub_quota_recovery_profile", "cleanup", "scipy, astro"],
    ),
    (
        "users-pages-placeholder-in-help",
        {"jupyterhub_quota_help": "your files are on the hub host at /home/<you>"},
        ["jupyterhub_quota_help", "placeholder", "<you>", "plain sentences"],
    ),
    (
        "users-pages-contact-not-a-link",
        {"jupyterhub_user_contact_url": "the help desk"},
        ["jupyterhub_user_contact_url", "the help desk", "mailto:"],
    ),
    # A real site (jupyterhub_enforce_security, true unless the inventory is an emulated one's).
    (
        "dummy-login-on-a-real-site",
        {"jupyterhub_enforce_security": "true"},  # a string, converted as the spec says
        ["jupyterhub_authenticator is dummy", "one shared password", "github or generic_oauth"],
    ),
    (
        "oauth-without-https-on-a-real-site",
        {**REAL_SITE_LOGIN, "jupyterhub_https": "none"},
        ["jupyterhub_https is none", "in the clear", "acm or letsencrypt"],
    ),
    (
        "oauth-callback-over-http-on-a-real-site",
        {**REAL_SITE_LOGIN, "jupyterhub_oauth_callback_url": "http://hub.example.org/hub/oauth_callback"},
        ["jupyterhub_oauth_callback_url", "plain HTTP", "https://"],
    ),
    (
        "placeholder-secrets-on-a-real-site",
        {**REAL_SITE_LOGIN, "jupyterhub_oauth_client_secret": "CHANGE-ME-with-ansible-vault"},
        ["jupyterhub_oauth_client_secret still holds a placeholder", "ansible-vault"],
    ),
    (
        "images-by-tag-on-a-real-site",
        {**REAL_SITE_LOGIN, "jupyterhub_eks_apply": True, "jupyterhub_eks_image_digests": False},
        ["jupyterhub_eks_image_digests is false", "accepts true", "@sha256 digest"],
    ),
]


@pytest.mark.parametrize(("extra_vars", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_hub_inventory_fails_before_any_change(
    tmp_path: Path, extra_vars: dict[str, Any], words: list[str]
) -> None:
    rendered = render(tmp_path, extra_vars)

    assert rendered.run.returncode != 0, rendered.run.output[-3000:]
    for word in words:
        assert word in rendered.run.output, f"{word!r} not in the error:\n{rendered.run.output[-3000:]}"
    assert not rendered.out.exists(), "the run wrote files before failing"
    assert "dummy-password-not-secret" not in rendered.run.output, "the inventory's password was logged"
    assert "CHANGE-ME-with-ansible-vault" not in rendered.run.output, "a secret's value was logged"


def test_a_real_site_login_passes_the_checks(tmp_path: Path) -> None:
    """The refusals above are the insecure inputs only: the same site with a real login renders."""
    rendered = render(tmp_path, {**REAL_SITE_LOGIN, "jupyterhub_eks_apply": False})
    assert rendered.run.returncode == 0, rendered.run.output[-3000:]
    assert REAL_SITE_LOGIN["jupyterhub_oauth_client_secret"] not in rendered.run.output
