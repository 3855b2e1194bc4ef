"""Build the sciplat.platform collection with the kit's roles inside (`make collection`).

The roles are written under `roles/` at the repository root, where the playbooks, Molecule and the
lint tools find them. The collection artifact carries them as `sciplat.platform.<role>`, beside the
modules, so `ansible-galaxy collection install` brings roles and modules together (as kubespray
and DebOps ship theirs). LICENSE and CHANGELOG.md are links to the root's, copied as files. Molecule
scenarios stay out: a copied role brings its own (docs/copying-a-role.md).

    python tools/build_collection.py [--output-dir build/collection]

Prints the path of the tarball.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "collections" / "ansible_collections" / "sciplat" / "platform"
ROLES = ROOT / "roles"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "molecule", "output")


def stage(into: Path) -> Path:
    """Assemble the collection tree (modules, roles, licence, changelog) under `into`; links become files."""
    tree = into / "ansible_collections" / "sciplat" / "platform"
    shutil.copytree(COLLECTION, tree, ignore=SKIP)
    for role in sorted(p for p in ROLES.iterdir() if (p / "tasks" / "main.yml").is_file()):
        shutil.copytree(role, tree / "roles" / role.name, ignore=SKIP)
    return tree


def build(output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    with tempfile.TemporaryDirectory(prefix="sciplat-collection-") as tmp:
        tree = stage(Path(tmp))
        result = subprocess.run(
            [str(galaxy), "collection", "build", str(tree), "--output-path", str(output_dir), "--force"],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise SystemExit(f"ansible-galaxy collection build failed:\n{result.stdout}{result.stderr}")
    # "Created collection for sciplat.platform at /path/sciplat-platform-X.tar.gz"
    return Path(result.stdout.strip().splitlines()[-1].rsplit(" at ", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "build" / "collection")
    print(build(parser.parse_args().output_dir))


if __name__ == "__main__":
    main()
