"""Render each role's README variable table from its meta/argument_specs.yml (entry point `main`).

The table goes between two marker lines in roles/<role>/README.md:

    <!-- BEGIN variables (generated from meta/argument_specs.yml by tools/role_docs.py; ...) -->
    <!-- END variables -->

A README may split its variables over several blocks: a BEGIN marker that names shell-style patterns
before the parenthesis (`<!-- BEGIN variables jupyterhub_eks_* (generated ...) -->`) takes the options
matching one of them; the block without patterns takes every other option. Rows follow the spec's order.

    python tools/role_docs.py            # rewrite the blocks of every role (or of the roles named)
    python tools/role_docs.py --check    # exit 1 naming each README that is out of date

Standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLES_DIR = ROOT / "roles"

GENERATED_BY = "generated from meta/argument_specs.yml by tools/role_docs.py; edit the specs, not this table"
BEGIN_RE = re.compile(r"^<!-- BEGIN variables(?P<patterns>(?: [^ ()]+)*) \((?P<note>[^)]*)\) -->$")
END_LINE = "<!-- END variables -->"
# A default longer than this (as flow YAML) is not spelled out in the table.
LONG_DEFAULT = 200
HEADER = ["| variable | type | default | what it does |", "|---|---|---|---|"]

# Ansible documentation markup in descriptions, rendered as Markdown.
_MARKUP = [
    (re.compile(r"\b[CVOEM]\(([^()]*)\)"), r"`\1`"),
    (re.compile(r"\bI\(([^()]*)\)"), r"*\1*"),
    (re.compile(r"\bB\(([^()]*)\)"), r"**\1**"),
    (re.compile(r"\bU\(([^()]*)\)"), r"<\1>"),
    (re.compile(r"\bL\(([^(),]*), *([^()]*)\)"), r"[\1](\2)"),
]


class RoleDocsError(Exception):
    """A README or a spec the tool cannot work with (no markers, unbalanced markers, ...)."""


def roles(root: Path = ROOT) -> list[str]:
    """Names of the roles that have both a README and an argument spec."""
    return sorted(
        path.name
        for path in (root / "roles").iterdir()
        if (path / "README.md").is_file() and (path / "meta" / "argument_specs.yml").is_file()
    )


def load_options(role_dir: Path) -> dict:
    """The options of the `main` entry point of a role's argument spec, in file order."""
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
    try:
        return specs["argument_specs"]["main"].get("options") or {}
    except (KeyError, TypeError) as exc:
        raise RoleDocsError(f"{role_dir / 'meta' / 'argument_specs.yml'}: no argument_specs.main") from exc


def _plain_ok(text: str, flow: bool) -> bool:
    """Whether a string can be written unquoted and still read back as the same string."""
    if text == "" or text != text.strip() or "\n" in text:
        return False
    try:
        if flow:
            return yaml.safe_load(f"[{text}]") == [text] and yaml.safe_load(f"{{k: {text}}}") == {"k": text}
        return yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


def yaml_flow(value, flow: bool = False) -> str:
    """A value as short YAML: flow style, strings unquoted unless YAML would read them otherwise."""
    if isinstance(value, dict):
        items = ", ".join(f"{yaml_flow(key, True)}: {yaml_flow(item, True)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_flow(item, True) for item in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if _plain_ok(value, flow) else json.dumps(value, ensure_ascii=False)
    return str(value)


def _cell(text: str) -> str:
    """Table-cell safe: one line, pipes escaped (also inside code spans, as GitHub reads tables)."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape_tags(text: str) -> str:
    """`<name>` outside code spans would be read as an HTML tag and vanish: escape its `<`."""
    pieces = re.split(r"(`+[^`]*`+)", text)
    return "".join(
        piece if piece.startswith("`") else re.sub(r"<(?!https?://|mailto:)(?=[A-Za-z_/])", r"\\<", piece)
        for piece in pieces
    )


def describe(description) -> str:
    """The spec's description (a string or a list of sentences) as one Markdown paragraph."""
    if description is None:
        return ""
    parts = description if isinstance(description, list) else [description]
    text = " ".join(str(part).strip() for part in parts)
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return _escape_tags(text)


def type_cell(spec: dict) -> str:
    kind = spec.get("type", "str")
    elements = spec.get("elements")
    text = f"{kind} of {elements}" if kind == "list" and elements else kind
    choices = spec.get("choices")
    if choices:
        listed = ", ".join(_code(yaml_flow(choice)) for choice in choices)
        text += f", each one of {listed}" if kind == "list" else f", one of {listed}"
    return text


def default_cell(spec: dict) -> str:
    if spec.get("required"):
        return "required"
    if "default" not in spec:
        return "none"
    text = yaml_flow(spec["default"])
    return _code(text) if len(text) <= LONG_DEFAULT else "long: see `defaults/main.yml`"


def render_rows(options: dict) -> list[str]:
    return [
        "| "
        + " | ".join(
            _cell(cell)
            for cell in (
                _code(name),
                type_cell(spec or {}),
                default_cell(spec or {}),
                describe((spec or {}).get("description")),
            )
        )
        + " |"
        for name, spec in options.items()
    ]


def _blocks(lines: list[str], readme: Path) -> list[tuple[int, int, list[str]]]:
    """(begin line index, end line index, patterns) of each marker block."""
    blocks, begin, patterns = [], None, []
    for index, line in enumerate(lines):
        match = BEGIN_RE.match(line.strip())
        if match:
            if begin is not None:
                raise RoleDocsError(f"{readme}:{index + 1}: BEGIN variables inside another block")
            begin, patterns = index, match.group("patterns").split()
        elif line.strip() == END_LINE:
            if begin is None:
                raise RoleDocsError(f"{readme}:{index + 1}: END variables without BEGIN")
            blocks.append((begin, index, patterns))
            begin = None
    if begin is not None:
        raise RoleDocsError(f"{readme}:{begin + 1}: BEGIN variables without END")
    if not blocks:
        raise RoleDocsError(f"{readme}: no '<!-- BEGIN variables (...) -->' ... '{END_LINE}' block")
    return blocks


def render_readme(role_dir: Path) -> str:
    """The role's README with every variable block regenerated from the spec."""
    readme = role_dir / "README.md"
    text = readme.read_text()
    lines = text.split("\n")
    options = load_options(role_dir)
    blocks = _blocks(lines, readme)
    claimed: dict[int, dict] = {}
    rest = [index for index, (_, _, patterns) in enumerate(blocks) if not patterns]
    if len(rest) > 1:
        raise RoleDocsError(f"{readme}: more than one variable block without patterns")
    unplaced = []
    for name, spec in options.items():
        for index, (_, _, patterns) in enumerate(blocks):
            if patterns and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                claimed.setdefault(index, {})[name] = spec
                break
        else:
            if rest:
                claimed.setdefault(rest[0], {})[name] = spec
            else:
                unplaced.append(name)
    if unplaced:
        raise RoleDocsError(f"{readme}: no variable block takes {', '.join(unplaced)}")
    for index in reversed(range(len(blocks))):
        begin, end, patterns = blocks[index]
        marker = " ".join(["<!-- BEGIN variables", *patterns]) + f" ({GENERATED_BY}) -->"
        lines[begin : end + 1] = [marker, *HEADER, *render_rows(claimed.get(index, {})), END_LINE]
    return "\n".join(lines)


def check(root: Path = ROOT, names: list[str] | None = None) -> list[str]:
    """One message per README that differs from what the tool would write (empty when all are up to date)."""
    problems = []
    for name in names or roles(root):
        role_dir = root / "roles" / name
        try:
            if render_readme(role_dir) != (role_dir / "README.md").read_text():
                problems.append(
                    f"{(role_dir / 'README.md').relative_to(root)} is out of date with "
                    f"{(role_dir / 'meta' / 'argument_specs.yml').relative_to(root)}: run `make role-docs`"
                )
        except RoleDocsError as exc:
            problems.append(str(exc))
    return problems


def write(root: Path = ROOT, names: list[str] | None = None) -> list[str]:
    """Regenerate the blocks; returns the READMEs that changed."""
    changed = []
    for name in names or roles(root):
        role_dir = root / "roles" / name
        text = render_readme(role_dir)
        readme = role_dir / "README.md"
        if text != readme.read_text():
            readme.write_text(text)
            changed.append(str(readme.relative_to(root)))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roles", nargs="*", help="roles to process (default: every role under roles/)")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a README is out of date"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the kit's checkout (default: this one)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.roles if name not in roles(args.root)]
    if unknown:
        parser.error(f"no role with a README and meta/argument_specs.yml: {', '.join(unknown)}")
    if args.check:
        problems = check(args.root, args.roles)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    try:
        for readme in write(args.root, args.roles):
            print(f"wrote {readme}")
    except RoleDocsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
