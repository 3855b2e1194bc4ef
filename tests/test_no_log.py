"""Every role task that handles a secret value has `no_log: true` (itself or on its block).

A static check over the real files. The secrets are the options a role's `meta/argument_specs.yml` marks
`no_log: true`. A task handles one when a Jinja expression in it uses the value (its length only does not
count: validation messages may say how long a secret is), when it renders a template that uses one, or
when it names a file such a task wrote (the helm task reads the release's values, secrets included;
a message that only names the file does not count).
`when`-style conditions are not logged and not counted; neither are an assert's `that` expressions
(Ansible logs their result, a boolean, never the values).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOT_LOGGED = {"name", "when", "changed_when", "failed_when", "until", "no_log", "tags"}
BLOCK_KEYS = ("block", "rescue", "always")
JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.S)
ASSERTS = {"assert", "ansible.builtin.assert", "ansible.legacy.assert"}
PRINT_ONLY = ASSERTS | {"debug", "ansible.builtin.debug", "fail", "ansible.builtin.fail"}


def _options(options: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, spec in (options or {}).items():
        yield name, spec
        yield from _options(spec.get("options", {}))


def secret_variables(roles: Path) -> set[str]:
    """The options every role's argument spec marks no_log: true."""
    found = set()
    for specs in roles.glob("*/meta/argument_specs.yml"):
        for entry in (yaml.safe_load(specs.read_text())["argument_specs"] or {}).values():
            found |= {name for name, spec in _options(entry.get("options", {})) if spec.get("no_log")}
    return found


def _uses_value(text: str, secrets: set[str]) -> bool:
    """Whether a Jinja expression in `text` uses a secret's value (not only its length)."""
    for expression in JINJA.findall(text):
        for name in secrets:
            for match in re.finditer(rf"\b{re.escape(name)}\b", expression):
                rest = expression[match.end() :]
                if not re.match(r"\s*(\|\s*default\([^)]*\)\s*)?\|\s*length\b", rest):
                    return True
    return False


def secret_templates(roles: Path, secrets: set[str]) -> set[str]:
    """Template paths (relative to their role's templates/) whose text uses a secret's value."""
    return {
        str(path.relative_to(role / "templates"))
        for role in roles.iterdir()
        if (role / "templates").is_dir()
        for path in (role / "templates").rglob("*")
        if path.is_file() and _uses_value(path.read_text(errors="replace"), secrets)
    }


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _logged_part(task: dict[str, Any]) -> dict[str, Any]:
    """What of a task Ansible may log: its arguments, vars and loop, less conditions and asserts' `that`."""
    part = {k: v for k, v in task.items() if k not in NOT_LOGGED and k not in BLOCK_KEYS}
    if ASSERTS & task.keys():
        module = next(iter(ASSERTS & task.keys()))
        part[module] = {k: v for k, v in (task[module] or {}).items() if k != "that"}
        if isinstance(part.get("loop"), list):
            part["loop"] = [
                {k: v for k, v in item.items() if k != "that"} if isinstance(item, dict) else item
                for item in part["loop"]
            ]
    return part


def tasks(path: Path) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every task of a tasks file with whether no_log is on for it (its own or its blocks')."""

    def walk(entries: list[Any], inherited: bool) -> Iterator[tuple[dict[str, Any], bool]]:
        for task in entries or []:
            if not isinstance(task, dict):
                continue
            quiet = task["no_log"] is True if "no_log" in task else inherited
            if any(key in task for key in BLOCK_KEYS):
                for key in BLOCK_KEYS:
                    yield from walk(task.get(key, []), quiet)
            else:
                yield task, quiet

    yield from walk(yaml.safe_load(path.read_text()) or [], False)


def unguarded(roles: Path) -> list[str]:
    """'<file>: <task name>' for each task that handles a secret without no_log."""
    secrets = secret_variables(roles)
    templates = secret_templates(roles, secrets)
    every = [
        (path, task, quiet) for path in sorted(roles.glob("*/tasks/**/*.yml")) for task, quiet in tasks(path)
    ]

    def handles(task: dict[str, Any], files: set[str]) -> bool:
        texts = list(_strings(_logged_part(task)))
        if any(_uses_value(text, secrets) for text in texts):
            return True
        if PRINT_ONLY & task.keys():  # a message naming a file does not read it
            return False
        return any(
            re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
            for text in texts
            for name in templates | files
        )

    # Files written by a task that handles a secret hold it too (a fixed name after the last /), and so on.
    files: set[str] = set()
    while True:
        more = {
            Path(str(dest)).name
            for _, task, _ in every
            if handles(task, files)
            for dest in _strings({k: v.get("dest") for k, v in task.items() if isinstance(v, dict)})
            if dest and not JINJA.fullmatch(Path(dest).name) and "{" not in Path(dest).name
        }
        if more <= files:
            break
        files |= more
    return [
        f"{path.relative_to(roles.parent)}: {task.get('name', '(unnamed)')}"
        for path, task, quiet in every
        if not quiet and handles(task, files)
    ]


def test_every_task_that_handles_a_secret_has_no_log() -> None:
    roles = ROOT / "roles"
    assert {"jupyterhub_cookie_secret", "jupyterhub_proxy_token", "jupyterhub_oauth_client_secret"} <= (
        secret_variables(roles)
    )
    assert unguarded(roles) == []


def test_the_helm_release_counts_as_handling_secrets() -> None:
    """The release's values file holds the secrets; the helm task that reads it is among those checked."""
    roles = ROOT / "roles"
    apply = ROOT / "roles/jupyterhub/tasks/eks/apply.yml"
    helm = [(t, q) for t, q in tasks(apply) if "kubernetes.core.helm" in t]
    assert len(helm) == 1 and helm[0][1], "the helm task has no_log: true"
    assert "eks/secret-values.yaml.j2" in secret_templates(roles, secret_variables(roles))


SPEC = """---
argument_specs:
  main:
    options:
      demo_password: {type: str, no_log: true, default: ""}
      demo_name: {type: str, default: demo}
"""


@pytest.mark.parametrize(
    ("task", "flagged"),
    [
        (
            {
                "name": "Write it.",
                "ansible.builtin.copy": {"content": "{{ demo_password }}", "dest": "/etc/demo/pw"},
            },
            True,
        ),
        (
            {
                "name": "Write it.",
                "ansible.builtin.copy": {"content": "{{ demo_password }}", "dest": "/x"},
                "no_log": True,
            },
            False,
        ),
        ({"name": "Read the file it wrote.", "ansible.builtin.command": "cat /etc/demo/pw"}, True),
        ({"name": "Render.", "ansible.builtin.template": {"src": "conf.j2", "dest": "/etc/demo/conf"}}, True),
        (
            {
                "name": "Say its length.",
                "ansible.builtin.debug": {"msg": "{{ demo_password | length }} long"},
            },
            False,
        ),
        (
            {
                "name": "Only when set.",
                "ansible.builtin.debug": {"msg": "set"},
                "when": "demo_password != ''",
            },
            False,
        ),
        (
            {
                "name": "Check it.",
                "ansible.builtin.assert": {
                    "that": "demo_password is match('^.{8,}$')",
                    "fail_msg": "demo_password is too short",
                },
            },
            False,
        ),
        ({"name": "Name.", "ansible.builtin.debug": {"msg": "{{ demo_name }}"}}, False),
    ],
    ids=[
        "value",
        "value-no-log",
        "file-it-wrote",
        "template-with-secret",
        "length",
        "when",
        "assert",
        "not-secret",
    ],
)
def test_the_check_flags_what_handles_a_secret(tmp_path: Path, task: dict[str, Any], flagged: bool) -> None:
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "tasks").mkdir()
    (role / "templates").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(SPEC)
    (role / "templates" / "conf.j2").write_text("password = {{ demo_password }}\n")
    writer = {
        "name": "Write it.",
        "ansible.builtin.copy": {"content": "{{ demo_password }}", "dest": "/etc/demo/pw"},
        "no_log": True,
    }
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump([writer, {"block": [task]}]))
    assert unguarded(tmp_path / "roles") == (
        [f"roles/demo/tasks/main.yml: {task['name']}"] if flagged else []
    )
