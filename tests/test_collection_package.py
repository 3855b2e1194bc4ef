"""The kit as something to copy: one licence, one version, the collections each role calls declared, and
the built collection bringing roles and modules together into a project that is not this repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from runbooks.cli import version_text

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "collections" / "ansible_collections" / "sciplat" / "platform"
GALAXY = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())
BIN = Path(sys.executable).parent
SPDX = "GPL-3.0-or-later"

# namespace.collection.name: a module, filter, test, lookup or module group written in full.
FQCN = re.compile(r"\b([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
PY_IMPORT = re.compile(r"\bansible_collections\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\b")
ALWAYS_THERE = {"ansible.builtin", "ansible.legacy"}


def installed_collections() -> set[str]:
    """Every collection the pinned ansible package ships, plus this one: the names an FQCN can start with."""
    found = {"sciplat.platform"}
    for entry in sys.path:
        tree = Path(entry) / "ansible_collections"
        if tree.is_dir():
            found |= {
                f"{ns.name}.{c.name}"
                for ns in tree.iterdir()
                if ns.is_dir()
                for c in ns.iterdir()
                if c.is_dir()
            }
    return found


KNOWN = installed_collections() | ALWAYS_THERE


def collections_called(files) -> set[str]:
    """The collections named in full in these YAML and template files (a URL such as docs.aws.amazon.com
    is not a collection, so only names of real collections count)."""
    used = set()
    for path in files:
        used |= {m[1] for m in FQCN.finditer(path.read_text()) if m[1] in KNOWN}
    return used - ALWAYS_THERE


def role_files(role: str):
    base = ROOT / "roles" / role
    return [
        p
        for p in base.rglob("*")
        if p.suffix in {".yml", ".yaml", ".j2"} and "molecule" not in p.relative_to(base).parts
    ]


def test_one_licence_everywhere():
    assert (
        (ROOT / "LICENSE")
        .read_text()
        .lstrip()
        .startswith("GNU GENERAL PUBLIC LICENSE\n                       Version 3")
    )
    assert GALAXY["license"] == [SPDX]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": SPDX}
    for role in ROLES:
        meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
        assert meta["galaxy_info"]["license"] == SPDX, role
        readme = (ROOT / "roles" / role / "README.md").read_text()
        assert re.search(rf"## License\n\n{re.escape(SPDX)}\b", readme), (
            f"{role}/README.md: no License section"
        )


@pytest.mark.parametrize("role", ROLES)
def test_role_meta_names_exactly_the_collections_it_calls(role):
    meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
    assert set(meta.get("collections", [])) == collections_called(role_files(role)), (
        f"roles/{role}/meta/main.yml `collections:` must list what its tasks and templates call"
    )


def test_galaxy_and_requirements_name_every_collection_the_kit_calls():
    files = [p for role in ROLES for p in role_files(role)] + sorted((ROOT / "playbooks").glob("*.yml"))
    used = collections_called(files)
    for module in (COLLECTION / "plugins").rglob("*.py"):
        used |= {f"{ns}.{c}" for ns, c in PY_IMPORT.findall(module.read_text())}
    used -= {"sciplat.platform"}
    assert set(GALAXY["dependencies"]) == used
    pinned = {
        c["name"]: c["version"]
        for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    }
    assert set(pinned) == used
    for name, spec in GALAXY["dependencies"].items():
        version = Version(pinned[name])
        for clause in spec.split(","):
            op, bound = re.fullmatch(r"\s*(>=|<=|<|>|==)\s*(\S+)\s*", clause).groups()
            assert {
                ">=": version >= Version(bound),
                "<=": version <= Version(bound),
                "<": version < Version(bound),
                ">": version > Version(bound),
                "==": version == Version(bound),
            }[op], f"requirements.yml pins {name} {version}, outside galaxy.yml's {spec}"
    assert "repository" not in GALAXY or not GALAXY["repository"].startswith("https://example")


def test_one_version_for_the_kit():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert GALAXY["version"] == version
    first = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert first and first[1] == version, "CHANGELOG.md's first entry is not the kit's version"
    assert version_text() == f"runbook {version}"


def test_built_collection_brings_roles_and_modules_to_another_project(tmp_path):
    made = subprocess.run(
        [sys.executable, ROOT / "tools" / "build_collection.py", "--output-dir", tmp_path / "dist"],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = Path(made.stdout.strip())
    assert tarball.name == f"sciplat-platform-{GALAXY['version']}.tar.gz"
    installed = tmp_path / "collections"
    # A project elsewhere, finding sciplat.platform only where it is installed (not this repository).
    project = tmp_path / "project"
    project.mkdir()
    (project / "ansible.cfg").write_text(
        f"[defaults]\ncollections_path = {installed}\nroles_path = {project}/roles\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(project / "ansible.cfg")
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", installed, tarball],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    tree = installed / "ansible_collections" / "sciplat" / "platform"
    assert sorted(p.name for p in (tree / "roles").iterdir()) == ROLES
    assert not list(tree.rglob("molecule")), "Molecule scenarios start this repository's emulator: left out"
    assert (tree / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()

    listed = subprocess.run(
        [BIN / "ansible-doc", "-t", "role", "-l", "sciplat.platform"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert {m for m in re.findall(r"^sciplat\.platform\.(\w+):", listed.stdout, re.MULTILINE)} == set(ROLES)
    # Every module's documentation parses (ansible-doc is how a copier reads a module's options).
    modules = sorted(
        p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py") if p.stem != "__init__"
    )
    docs = subprocess.run(
        [BIN / "ansible-doc", "--json", *(f"sciplat.platform.{m}" for m in modules)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert docs.returncode == 0, docs.stderr
    shown = json.loads(docs.stdout)
    assert sorted(shown) == [f"sciplat.platform.{m}" for m in modules], docs.stderr
    for name, doc in shown.items():
        assert doc["doc"]["filename"].startswith(str(installed)), name
        assert doc["doc"]["options"], name
    # And every filter and test plugin's, which the roles' tasks use.
    for kind in ("filter", "test"):
        plugins = sorted(p.stem for p in (COLLECTION / "plugins" / kind).glob("*.py"))
        docs = subprocess.run(
            [BIN / "ansible-doc", "-t", kind, "--json", *(f"sciplat.platform.{m}" for m in plugins)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        assert docs.returncode == 0, docs.stderr
        assert sorted(json.loads(docs.stdout)) == [f"sciplat.platform.{m}" for m in plugins], docs.stderr

    # ami_demo includes demo_host by its short name: inside the collection that must still find demo_host,
    # whose own check (and its default requirements file, under its role_path) then refuses the bucket.
    (project / "validate.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Validate a demo image's inputs with the installed collection.",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Validate.",
                            "ansible.builtin.include_role": {
                                "name": "sciplat.platform.ami_demo",
                                "tasks_from": "validate",
                            },
                            "vars": {
                                "ami_demo_region": "us-east-1",
                                "ami_demo_operator_cidr": "203.0.113.7/32",
                                "demo_host_bucket": "Not_A_Bucket",
                            },
                        }
                    ],
                }
            ]
        )
    )
    run = subprocess.run(
        [BIN / "ansible-playbook", "-i", "localhost,", "-c", "local", "validate.yml"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "sciplat.platform.demo_host : Check the bucket name" in run.stdout
    assert "demo_host_bucket 'Not_A_Bucket' is not a valid S3 bucket name" in run.stdout + run.stderr
