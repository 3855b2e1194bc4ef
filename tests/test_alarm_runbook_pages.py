"""Every alarm roles/cloudwatch_alarms can create links to docs/runbooks/<key>.md: that page must exist,
be the alarm's page, link only to files that exist, and be listed in the runbooks' index."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLE_VARS = ROOT / "roles" / "cloudwatch_alarms" / "vars" / "main.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
# [text](target) and [text](target "title"); images too. Targets with a scheme are not files.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def alarm_keys() -> list[str]:
    """The keys of the role's alarm catalogue: one alarm (and one runbook link) per entry."""
    role_vars = yaml.safe_load(ROLE_VARS.read_text(encoding="utf-8"))
    catalogue = role_vars["cloudwatch_alarms__catalogue"]
    keys = [entry["key"] for entry in catalogue]
    assert keys, f"{ROLE_VARS}: cloudwatch_alarms__catalogue is empty"
    assert len(keys) == len(set(keys)), f"{ROLE_VARS}: duplicate alarm keys {keys}"
    return keys


KEYS = alarm_keys()


def page(key: str) -> Path:
    return RUNBOOKS / f"{key}.md"


def local_links(text: str) -> list[str]:
    """Relative link targets of a Markdown text, without their #fragment (pure anchors dropped)."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # code blocks hold commands, not links
    targets = []
    for target in LINK.findall(text):
        if SCHEME.match(target) or target.startswith("#"):
            continue
        targets.append(unquote(target.split("#", 1)[0]))
    return targets


def test_catalogue_matches_the_template() -> None:
    """The template builds one alarm per catalogue entry; a key it handles must be in the catalogue."""
    template = (ROOT / "roles" / "cloudwatch_alarms" / "templates" / "alarms.json.j2").read_text()
    handled = set(re.findall(r"entry\.key == '([a-z0-9-]+)'", template))
    assert handled <= set(KEYS), f"template handles keys missing from the catalogue: {handled - set(KEYS)}"


@pytest.mark.parametrize("key", KEYS)
def test_alarm_page_exists_and_is_titled(key: str) -> None:
    path = page(key)
    assert path.is_file(), f"alarm {key}: its runbook link names {path.relative_to(ROOT)}, which is missing"
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith(f"# Alarm: {key}"), (
        f"{path.relative_to(ROOT)}: first line {first_line!r} should start with '# Alarm: {key}'"
    )


@pytest.mark.parametrize("key", KEYS)
def test_alarm_page_links_resolve(key: str) -> None:
    path = page(key)
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing")
    broken = [t for t in local_links(path.read_text(encoding="utf-8")) if not (RUNBOOKS / t).exists()]
    assert not broken, f"{path.relative_to(ROOT)} links to files that do not exist: {broken}"


def test_index_lists_every_alarm_page() -> None:
    index = RUNBOOKS / "README.md"
    linked = {Path(t).name for t in local_links(index.read_text(encoding="utf-8"))}
    missing = [f"{key}.md" for key in KEYS if f"{key}.md" not in linked]
    assert not missing, f"{index.relative_to(ROOT)} does not link to {missing}"
    broken = [t for t in local_links(index.read_text(encoding="utf-8")) if not (RUNBOOKS / t).exists()]
    assert not broken, f"{index.relative_to(ROOT)} links to files that do not exist: {broken}"
