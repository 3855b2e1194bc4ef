"""Each role's variables are documented once: meta/argument_specs.yml (entry point `main`).

The README tables are generated from the spec (tools/role_docs.py, `make role-docs`), and defaults/main.yml
must define exactly the spec's options (except the required ones, which it must leave undefined) with the
same defaults.
"""

from __future__ import annotations

import importlib.util
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
