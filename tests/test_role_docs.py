"""Each role's variables are documented once: meta/argument_specs.yml (entry point `main`).

The README tables are generated from the spec (tools/role_docs.py, `make role-docs`), and defaults/main.yml
must define exactly the spec's options (except the required ones, which it must leave undefined) with the
same defaults. The other entry points (`tasks_from: absent`, `facts`, ...) declare options of `main`, the
same way; each `absent` entry point (playbooks/teardown.yml) declares every option its tasks template, so
ansible-core checks them before anything is deleted.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("role_docs", ROOT / "tools" / "role_docs.py")
role_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(role_docs)

ROLES = role_docs.roles(ROOT)


def test_every_role_is_covered():
    on_disk = sorted(path.name for path in (ROOT / "roles").iterdir() if (path / "meta").is_dir())
    assert on_disk == ROLES, "a role lacks README.md or meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLES)
def test_readme_variables_are_generated_from_the_spec(role):
    problems = role_docs.check(ROOT, [role])
    assert not problems, f"role {role}: " + "; ".join(problems)


def _defaults_and_options(role: str) -> tuple[dict, dict]:
    role_dir = ROOT / "roles" / role
    defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text()) or {}
    return defaults, role_docs.load_options(role_dir)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_define_exactly_the_optional_spec_options(role):
    defaults, options = _defaults_and_options(role)
    required = {name for name, spec in options.items() if (spec or {}).get("required")}
    missing = sorted(set(options) - required - set(defaults))
    undeclared = sorted(set(defaults) - set(options))
    required_with_default = sorted(required & set(defaults))
    assert not missing, f"role {role}: in meta/argument_specs.yml but not in defaults/main.yml: {missing}"
    assert not undeclared, (
        f"role {role}: in defaults/main.yml but not in meta/argument_specs.yml (main): {undeclared}"
    )
    assert not required_with_default, (
        f"role {role}: required in meta/argument_specs.yml, so it must not be in defaults/main.yml: "
        f"{required_with_default}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_equal_the_defaults_file(role):
    defaults, options = _defaults_and_options(role)
    no_default = sorted(
        name
        for name, spec in options.items()
        if not (spec or {}).get("required") and "default" not in (spec or {})
    )
    assert not no_default, (
        f"role {role}: optional in meta/argument_specs.yml without a default "
        f"(the README would show none): {no_default}"
    )
    differ = {
        name: {"argument_specs": spec["default"], "defaults/main.yml": defaults[name]}
        for name, spec in options.items()
        if name in defaults and "default" in (spec or {}) and spec["default"] != defaults[name]
    }
    assert not differ, f"role {role}: defaults differ: {differ}"


def test_check_names_an_out_of_date_readme(tmp_path):
    role_dir = tmp_path / "roles" / "demo"
    (role_dir / "meta").mkdir(parents=True)
    (role_dir / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n"
        "      demo_size:\n        type: int\n        default: 3\n"
        "        description: How many, C(3) or more.\n"
        "      demo_name:\n        type: str\n        required: true\n        choices: [a, b]\n"
        "        description: [The name., Either <a> or <b>.]\n"
    )
    readme = role_dir / "README.md"
    readme.write_text(
        f"# demo\n\n<!-- BEGIN variables ({role_docs.GENERATED_BY}) -->\n<!-- END variables -->\n\nEnd.\n"
    )
    problems = role_docs.check(tmp_path)
    assert len(problems) == 1 and "roles/demo/README.md" in problems[0]
    assert role_docs.write(tmp_path) == ["roles/demo/README.md"]
    assert role_docs.check(tmp_path) == []
    text = readme.read_text()
    assert "| `demo_size` | int | `3` | How many, `3` or more. |" in text
    assert "| `demo_name` | str, one of `a`, `b` | required | The name. Either \\<a> or \\<b>. |" in text
    assert text.endswith("<!-- END variables -->\n\nEnd.\n")


def test_cli_check_exits_1_naming_the_readme(tmp_path, capsys):
    role_dir = tmp_path / "roles" / "demo"
    (role_dir / "meta").mkdir(parents=True)
    (role_dir / "meta" / "argument_specs.yml").write_text("argument_specs:\n  main:\n    options: {}\n")
    (role_dir / "README.md").write_text("# demo, no markers\n")
    assert role_docs.main(["--check", "--root", str(tmp_path)]) == 1
    assert "roles/demo/README.md" in capsys.readouterr().err


def test_yaml_flow_reads_back():
    for value in [
        "1.33",
        "",
        "~/.kube/config",
        "{{ x | default('') }}",
        "a: b",
        [1, "2"],
        {"k": [True, None]},
    ]:
        assert yaml.safe_load(role_docs.yaml_flow(value)) == value


# --- entry points other than `main` (`tasks_from: absent`, `facts`, ...) ----------------------------------

_SPEC_KEYS = ("type", "elements", "choices", "required", "no_log")
# Task keywords whose values are bare Jinja expressions; anywhere else only {{ }} and {% %} are templated.
_BARE = {"when", "that", "until", "changed_when", "failed_when"}
_JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)


def _specs(role: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"
    ]


def _absent_entry_points(role: str) -> list[str]:
    tasks = ROOT / "roles" / role / "tasks"
    return sorted(str(path.relative_to(tasks).with_suffix("")) for path in tasks.rglob("absent.yml"))


def _expressions(node, bare: bool = False) -> tuple[list[str], list[str]]:
    """(the templated text in a task file's YAML, the task files it imports or includes)."""
    if isinstance(node, dict):
        found, files = [], []
        for key, value in node.items():
            if key in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"):
                files.append(value)
                continue
            text, more = _expressions(value, bare=key in _BARE)
            found += text
            files += more
        return found, files
    if isinstance(node, list):
        pairs = [_expressions(item, bare) for item in node]
        return [t for text, _ in pairs for t in text], [f for _, files in pairs for f in files]
    if isinstance(node, str):
        return ([node] if bare else _JINJA.findall(node)), []
    return [], []


def _used_options(role: str, entry: str, options: dict) -> set[str]:
    """The `main` options an entry point's tasks template, directly or through vars/main.yml."""
    role_dir = ROOT / "roles" / role
    vars_file = role_dir / "vars" / "main.yml"
    role_vars = (yaml.safe_load(vars_file.read_text()) if vars_file.is_file() else None) or {}
    names = re.compile(rf"\b{role}_[a-z0-9_]+\b")
    files, seen_files, pending, found = [role_dir / "tasks" / f"{entry}.yml"], set(), [], set()
    while files:
        path = files.pop()
        if path not in seen_files:
            seen_files.add(path)
            text, included = _expressions(yaml.safe_load(path.read_text()))
            files += [path.parent / name for name in included]
            pending += [name for expression in text for name in names.findall(expression)]
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending += names.findall(yaml.safe_dump(role_vars.get(name, "")))
    return found & set(options)


@pytest.mark.parametrize("role", ROLES)
def test_each_absent_entry_point_validates_what_it_uses(role):
    """playbooks/teardown.yml includes `tasks_from: absent`: its spec checks the inventory first."""
    specs = _specs(role)
    for entry in _absent_entry_points(role):
        assert entry in specs, (
            f"role {role}: tasks/{entry}.yml has no `{entry}` entry in meta/argument_specs.yml"
        )
        declared = set(specs[entry].get("options") or {})
        missing = sorted(_used_options(role, entry, specs["main"]["options"]) - declared)
        assert not missing, (
            f"role {role}: tasks/{entry}.yml uses {missing}, not in its argument spec `{entry}`"
        )


@pytest.mark.parametrize("role", ROLES)
def test_entry_points_agree_with_main(role):
    """An option of another entry point is the one of `main`: same type, choices and default (if given)."""
    specs = _specs(role)
    main = specs["main"]["options"]
    for entry, spec in specs.items():
        for name, option in (spec.get("options") or {}).items():
            assert name in main, f"role {role}: `{entry}` declares {name}, which `main` does not"
            differ = {key for key in _SPEC_KEYS if option.get(key) != main[name].get(key)}
            if "default" in option and option["default"] != main[name].get("default"):
                differ.add("default")
            assert not differ, f"role {role}: {name} differs between `{entry}` and `main` in {sorted(differ)}"
