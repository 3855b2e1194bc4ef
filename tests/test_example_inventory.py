"""inventories/example is consistent, as a new operator copies it: one hub hostname, every file of it
described in docs/sites.md, and every variable that docs/sites.md's checklist names exists."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from runbooks.site import load_site

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "inventories" / "example"
SITES_DOC = (ROOT / "docs" / "sites.md").read_text()


def test_the_example_has_one_hub_hostname():
    site = load_site("example")
    hostname = site.resolve("jupyterhub_hostname", None)
    assert hostname and "{" not in hostname
    for variable in ("jupyterhub_oauth_callback_url", "cloudwatch_alarms_hub_url"):
        assert urlparse(site.resolve(variable, None)).hostname == hostname, variable


def _section(heading: str) -> str:
    """The part of docs/sites.md under a `## ` heading, up to the next one."""
    return SITES_DOC.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    ("inventory", "heading"),
    [("example", "1. Copy the example"), ("example-single-node", "A single-node site")],
)
def test_sites_doc_describes_every_file_of_the_example(inventory: str, heading: str) -> None:
    root = ROOT / "inventories" / inventory
    files = {p.relative_to(root).as_posix() for p in root.rglob("*.yml")}
    described = set(re.findall(r"^\| `([^`]+\.yml)` \|", _section(heading), re.MULTILINE))
    assert files == described, (
        f"not in docs/sites.md: {files - described}; not in the {inventory} inventory: {described - files}"
    )


@pytest.mark.parametrize(
    ("inventory", "checklist"),
    [
        ("example", SITES_DOC.split("## Before the first converge", 1)[1].split("\n## ", 1)[0]),
        ("example-single-node", _section("A single-node site")),
    ],
)
def test_the_checklists_variables_exist(inventory: str, checklist: str) -> None:
    assert checklist.count("- [ ] ") >= 7
    named = set(
        re.findall(
            r"`((?:site|jupyterhub|image_pipeline|cloudwatch_alarms|runbook|vault|ec2_hub_host)_[a-z_]+)`",
            checklist,
        )
    )
    defined: set[str] = set()
    root = ROOT / "inventories" / inventory
    for path in [*root.rglob("*.yml"), *ROOT.glob("roles/*/defaults/main.yml")]:
        defined |= set(yaml.safe_load(path.read_text()) or {})
    for spec in ROOT.glob("roles/*/meta/argument_specs.yml"):  # required variables have no default
        defined |= set(yaml.safe_load(spec.read_text())["argument_specs"]["main"]["options"])
    named = {name for name in named if "_out_" not in name}  # a role's outputs, not inputs
    assert named, "the checklist names no variable"
    assert named <= defined, f"docs/sites.md's checklist names variables that do not exist: {named - defined}"
