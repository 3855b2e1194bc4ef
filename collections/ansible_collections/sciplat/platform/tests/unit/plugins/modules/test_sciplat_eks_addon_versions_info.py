"""sciplat.platform.eks_addon_versions_info against stubbed DescribeAddonVersions answers."""

from __future__ import annotations

from typing import Any

from ansible_collections.sciplat.platform.plugins.modules import eks_addon_versions_info


def offered(stubs: Any, name: str, versions: list[tuple[str, bool]]) -> None:
    stubs.add(
        "eks",
        "describe_addon_versions",
        {
            "addons": [
                {
                    "addonName": name,
                    "addonVersions": [
                        {
                            "addonVersion": version,
                            "compatibilities": [{"clusterVersion": "1.33", "defaultVersion": default}],
                        }
                        for version, default in versions
                    ],
                }
            ]
            if versions
            else []
        },
        {"addonName": name, "kubernetesVersion": "1.33"},
    )


def test_lists_versions_newest_first_with_the_default_and_the_unavailable(run_module, stubs) -> None:
    offered(stubs, "coredns", [("v1.12.1-eksbuild.2", True), ("v1.12.2-eksbuild.4", False)])
    offered(stubs, "retired-addon", [])

    out = run_module(
        eks_addon_versions_info, {"kubernetes_version": "1.33", "names": ["coredns", "retired-addon"]}
    )

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["addons"] == {
        "coredns": {
            "versions": ["v1.12.2-eksbuild.4", "v1.12.1-eksbuild.2"],
            "latest_version": "v1.12.2-eksbuild.4",
            "default_version": "v1.12.1-eksbuild.2",
        }
    }
    assert out.result["unavailable"] == ["retired-addon"]
    stubs.assert_done()


def test_refuses_a_version_that_is_not_major_minor(run_module, stubs) -> None:
    out = run_module(eks_addon_versions_info, {"kubernetes_version": "1.33.2", "names": ["coredns"]})

    assert out.failed
    assert "kubernetes_version must look like 1.33" in out.result["msg"]
