"""Every module's documentation says what its argument spec takes: the same options (doc fragments
included, as ansible-doc shows them), aliases, types, choices and defaults. The shared specs
(module_utils tagging.py and waiting.py) and amazon.aws's doc fragments must stay in step."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

MODULES = Path(__file__).resolve().parents[4] / "plugins" / "modules"
# Options AnsibleAWSModule adds itself (the amazon.aws.common, region and boto3 fragments document them).
AWS_COMMON = {
    "access_key", "secret_key", "session_token", "profile", "endpoint_url", "aws_ca_bundle",
    "validate_certs", "aws_config", "debug_botocore_endpoint_logs", "region",
}  # fmt: skip


class SpecSeen(Exception):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__("argument spec read")
        self.spec = spec


def argument_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The module's argument spec, as main() hands it to AnsibleAWSModule (no AWS call is made)."""

    def capture(self: Any, argument_spec: dict[str, Any], **_: Any) -> None:
        raise SpecSeen(argument_spec)

    monkeypatch.setattr(AnsibleAWSModule, "__init__", capture)
    module = importlib.import_module(f"ansible_collections.sciplat.platform.plugins.modules.{name}")
    with pytest.raises(SpecSeen) as seen:
        module.main()
    return seen.value.spec


def compare(where: str, documented: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    problems = []
    for option in sorted(set(documented) ^ set(spec)):
        problems.append(f"{where}{option}: {'documented only' if option in documented else 'not documented'}")
    for option in sorted(set(documented) & set(spec)):
        doc, arg = documented[option], spec[option]
        for key, fallback in (("type", "str"), ("default", None), ("choices", None), ("elements", None)):
            if doc.get(key, fallback) != arg.get(key, fallback):
                problems.append(f"{where}{option}: {key} documented {doc.get(key)!r}, spec {arg.get(key)!r}")
        if sorted(doc.get("aliases") or []) != sorted(arg.get("aliases") or []):
            problems.append(
                f"{where}{option}: aliases documented {doc.get('aliases')}, spec {arg.get('aliases')}"
            )
        if bool(doc.get("required")) != bool(arg.get("required")):
            problems.append(
                f"{where}{option}: required documented {doc.get('required')}, spec {arg.get('required')}"
            )
        if doc.get("suboptions") or arg.get("options"):
            problems += compare(f"{where}{option}.", doc.get("suboptions") or {}, arg.get("options") or {})
    return problems


# warn.py documents an action plugin: it has no main() and no argument spec of its own.
@pytest.mark.parametrize("name", sorted(p.stem for p in MODULES.glob("*.py") if "def main(" in p.read_text()))
def test_documentation_matches_the_argument_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = get_docstring(str(MODULES / f"{name}.py"), fragment_loader, collection_name="sciplat.platform")[0]
    spec = argument_spec(name, monkeypatch)
    documented = {k: v for k, v in doc["options"].items() if k not in AWS_COMMON}
    assert compare("", documented, spec) == []
