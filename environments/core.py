"""Specs, locks and versions: reading, validating, freezing and comparing them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def cache_root() -> Path:
    """Where every build and download of the kit's tools is kept, outside the clones: $SCIPLAT_CACHE (the
    Makefile exports its CACHE_DIR as that), ~/.cache/sciplat-kit by default."""
    return Path(os.environ.get("SCIPLAT_CACHE", Path.home() / ".cache" / "sciplat-kit"))


# The environments tree; SCIPLAT_ENVIRONMENTS_DIR points the tool at a copy (the tests do).
ROOT = Path(os.environ.get("SCIPLAT_ENVIRONMENTS_DIR") or Path(__file__).resolve().parent)
CACHE_DIR = cache_root()
# Calendar versions: YEAR.MONTH, optionally .N for a re-freeze within the month (2026.11, 2026.11.1).
VERSION_RE = re.compile(r"^(20\d\d)\.(1[0-2]|[1-9])(\.\d+)?$")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
PYTHON_RE = re.compile(r"^3\.\d{1,2}$")
LOCK_LINE_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


class EnvError(Exception):
    """A problem an operator can fix; the message names what is wrong."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise EnvError(
            f"environment name {name!r} is not valid: lowercase letters, digits and '-', e.g. 'hst'"
        )
    return name


def check_version(version: str) -> str:
    if not VERSION_RE.match(version):
        raise EnvError(
            f"version {version!r} is not a version: use YEAR.MONTH or YEAR.MONTH.N, e.g. 2026.11 or 2026.11.1"
        )
    return version


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass
class Spec:
    """What a scientist asked for: a short list of packages with loose constraints."""

    name: str
    version: str
    description: str
    python: str
    packages: list[str]
    notes: str = ""

    @classmethod
    def load(cls, path: Path) -> Spec:
        try:
            data = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise EnvError(f"{path}: no such spec") from None
        if not isinstance(data, dict):
            raise EnvError(f"{path}: a spec is a mapping with name, version, description, python, packages")
        missing = [key for key in ("name", "version", "description", "python", "packages") if key not in data]
        if missing:
            raise EnvError(f"{path}: missing {', '.join(missing)}")
        spec = cls(
            name=str(data["name"]),
            version=str(data["version"]),
            description=str(data["description"]),
            python=str(data["python"]),
            packages=[str(p) for p in data["packages"] or []],
            notes=str(data.get("notes", "")),
        )
        spec.validate(path)
        return spec

    def validate(self, where: Path | str) -> None:
        check_name(self.name)
        check_version(self.version)
        if not PYTHON_RE.match(self.python):
            raise EnvError(f"{where}: python {self.python!r} is not a version like '3.11'")
        if not self.packages:
            raise EnvError(f"{where}: packages is empty; list what the environment must contain")
        seen: set[str] = set()
        for entry in self.packages:
            try:
                requirement = Requirement(entry)
            except InvalidRequirement as error:
                raise EnvError(f"{where}: package {entry!r} is not a requirement: {error}") from None
            key = canonicalize_name(requirement.name)
            if key in seen:
                raise EnvError(f"{where}: package {requirement.name!r} is listed twice")
            seen.add(key)
        if "ipykernel" not in seen:
            raise EnvError(
                f"{where}: packages must include ipykernel, or the hub cannot start a kernel in it"
            )

    def dump(self) -> str:
        """The spec as YAML that yamllint --strict accepts (document start, indented lists)."""
        lines = [
            "---",
            "# What the scientists asked for. Edit it; `python -m environments freeze` writes the lock.",
            f"name: {self.name}",
            f'version: "{self.version}"',
            f"description: {json.dumps(self.description)}",
            f'python: "{self.python}"',
            "packages:",
            *[f"  - {json.dumps(p) if set(p) & set(':#{}[],&*!|>%@`') else p}" for p in self.packages],
        ]
        if self.notes:
            lines += ["notes: >-", *[f"  {line}" for line in textwrap.wrap(self.notes, 100)]]
        return "\n".join(lines) + "\n"


@dataclass
class Lock:
    """A frozen requirements.lock: every package pinned with hashes."""

    path: Path
    text: str
    pins: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Lock:
        if not path.exists():
            raise EnvError(f"{path}: no lock; run `python -m environments freeze` first")
        text = path.read_text()
        pins: dict[str, str] = {}
        for line in text.splitlines():
            match = LOCK_LINE_RE.match(line)
            if match:
                pins[canonicalize_name(match.group(1))] = match.group(2)
        return cls(path, text, pins)

    @property
    def digest(self) -> str:
        """sha256 of the lock's text: the key for caches and the image's second tag."""
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def short_digest(self) -> str:
        return self.digest[:12]


@dataclass
class EnvVersion:
    name: str
    version: str

    @property
    def path(self) -> Path:
        return ROOT / self.name / self.version

    @property
    def spec_path(self) -> Path:
        return self.path / "spec.yml"

    @property
    def lock_path(self) -> Path:
        return self.path / "requirements.lock"

    @property
    def notebooks(self) -> list[Path]:
        return sorted((self.path / "notebooks").glob("*.ipynb"))

    def spec(self) -> Spec:
        spec = Spec.load(self.spec_path)
        if spec.name != self.name or spec.version != self.version:
            raise EnvError(
                f"{self.spec_path}: says {spec.name} {spec.version} but lives in {self.name}/{self.version}"
            )
        return spec

    def lock(self) -> Lock:
        return Lock.load(self.lock_path)

    def label(self) -> str:
        return f"{self.name} {self.version}"


def names() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir() and NAME_RE.match(p.name))


def versions(name: str) -> list[str]:
    base = ROOT / check_name(name)
    if not base.is_dir():
        return []
    found = [p.name for p in base.iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
    return sorted(found, key=version_key)


def get(name: str, version: str | None = None) -> EnvVersion:
    """An existing environment version; the newest one when version is None."""
    known = versions(name)
    if not known:
        raise EnvError(f"no environment named {name!r}; known: {', '.join(names()) or 'none'}")
    if version is None:
        return EnvVersion(name, known[-1])
    check_version(version)
    if version not in known:
        raise EnvError(f"environment {name} has no version {version}; known: {', '.join(known)}")
    return EnvVersion(name, version)


def previous(name: str, version: str) -> EnvVersion | None:
    older = [v for v in versions(name) if version_key(v) < version_key(version)]
    return EnvVersion(name, older[-1]) if older else None


def uv_binary() -> str:
    candidate = Path(sys.executable).parent / "uv"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("uv")
    if not found:
        raise EnvError("uv is not installed; run `make install` (it is pinned in requirements.lock)")
    return found


NOT_FOUND_RE = re.compile(r"Because (\S+) was not found in the package registry")
NO_VERSION_RE = re.compile(r"Because there is no version of (\S+?)(?:[<>=!~]\S*)? and you require")
NO_WHEEL_RE = re.compile(r"Because (\S+?)(?:==\S+)? has no usable wheels")


def explain_compile_error(stderr: str) -> str:
    for pattern, template in (
        (NOT_FOUND_RE, "package {0!r} does not exist on the package index"),
        (NO_VERSION_RE, "no release of package {0!r} matches the constraint in the spec"),
        (NO_WHEEL_RE, "package {0!r} has no wheel for this platform (environments install from wheels only)"),
    ):
        # uv wraps its messages to the terminal's width: match on the text with the breaks undone.
        match = pattern.search(" ".join(stderr.split()))
        if match:
            return template.format(match.group(1)) + "\n" + stderr.strip()
    return "the spec does not resolve:\n" + stderr.strip()


def compile_lock(spec: Spec, output: Path) -> None:
    """Resolve the spec into a lock with hashes, from wheels only, for the spec's Python."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / f"{spec.name}.in"
        source.write_text("\n".join(spec.packages) + "\n")
        command = [
            uv_binary(),
            "pip",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--only-binary",
            ":all:",
            "--python-version",
            spec.python,
            "--python-platform",
            "x86_64-manylinux_2_28",
            "--no-header",
            "--cache-dir",
            str(CACHE_DIR / "uv"),
            str(source),
            "-o",
            str(Path(scratch) / "out.lock"),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise EnvError(f"{spec.name} {spec.version}: {explain_compile_error(result.stderr)}")
        body = (Path(scratch) / "out.lock").read_text()
    uv_version = subprocess.run([uv_binary(), "--version"], capture_output=True, text=True, check=True)
    header = (
        f"# Frozen from spec.yml of {spec.name} {spec.version} (Python {spec.python}, manylinux x86_64,\n"
        f"# wheels only) by `python -m environments freeze` with {uv_version.stdout.strip()}.\n"
        "# Do not edit: change spec.yml and freeze a new version.\n"
    )
    output.write_text(header + body.replace(str(source), "spec.yml"))


@dataclass
class Change:
    added: dict[str, str]
    removed: dict[str, str]
    upgraded: dict[str, tuple[str, str]]
    downgraded: dict[str, tuple[str, str]]

    def empty(self) -> bool:
        return not (self.added or self.removed or self.upgraded or self.downgraded)

    def render(self, before: str, after: str) -> str:
        if self.empty():
            return f"{before} -> {after}: no package changed"
        lines = [f"{before} -> {after}:"]
        lines += [f"  + {name} {version} (added)" for name, version in sorted(self.added.items())]
        lines += [f"  - {name} {version} (removed)" for name, version in sorted(self.removed.items())]
        lines += [
            f"  ^ {name} {old} -> {new} (upgraded)" for name, (old, new) in sorted(self.upgraded.items())
        ]
        lines += [
            f"  v {name} {old} -> {new} (downgraded)" for name, (old, new) in sorted(self.downgraded.items())
        ]
        return "\n".join(lines)


def diff_pins(old: dict[str, str], new: dict[str, str]) -> Change:
    change = Change(
        added={n: v for n, v in new.items() if n not in old},
        removed={n: v for n, v in old.items() if n not in new},
        upgraded={},
        downgraded={},
    )
    for name in old.keys() & new.keys():
        if old[name] == new[name]:
            continue
        if Version(new[name]) > Version(old[name]):
            change.upgraded[name] = (old[name], new[name])
        else:
            change.downgraded[name] = (old[name], new[name])
    return change


def freeze(
    name: str,
    version: str,
    from_version: str | None = None,
    add: list[str] | None = None,
    remove: list[str] | None = None,
) -> tuple[EnvVersion, str]:
    """Write environments/NAME/VERSION (spec, lock, notebooks); return it and the change report.

    Without --from, VERSION's spec.yml must exist (a scientist's pull request adds it) and only the lock
    is (re)written. With --from, the spec and notebooks are copied from that version first. Nothing is
    written unless the spec resolves.
    """
    check_name(name)
    check_version(version)
    target = EnvVersion(name, version)
    if from_version is not None:
        source = get(name, from_version)
        if target.spec_path.exists():
            raise EnvError(f"{target.label()} already exists; freeze it without --from to re-lock it")
        spec = source.spec()
        spec.version = version
    else:
        if not target.spec_path.exists():
            raise EnvError(f"{target.spec_path} does not exist: write it, or copy one with --from VERSION")
        spec = target.spec()
    for entry in remove or []:
        key = canonicalize_name(_requirement(entry).name)
        kept = [p for p in spec.packages if canonicalize_name(Requirement(p).name) != key]
        if len(kept) == len(spec.packages):
            raise EnvError(f"cannot remove {entry!r}: the spec does not list it")
        spec.packages = kept
    for entry in add or []:
        key = canonicalize_name(_requirement(entry).name)
        spec.packages = [p for p in spec.packages if canonicalize_name(Requirement(p).name) != key]
        spec.packages.append(entry)
    spec.validate(target.spec_path)

    with tempfile.TemporaryDirectory() as scratch:
        lock_path = Path(scratch) / "requirements.lock"
        compile_lock(spec, lock_path)  # raises before anything is written
        target.path.mkdir(parents=True, exist_ok=True)
        target.spec_path.write_text(spec.dump())
        shutil.copyfile(lock_path, target.lock_path)
    if from_version is not None:
        notebooks = source.path / "notebooks"
        if notebooks.is_dir():
            shutil.copytree(notebooks, target.path / "notebooks", dirs_exist_ok=True)
    before = previous(name, version)
    new_pins = target.lock().pins
    if before is None or not before.lock_path.exists():
        report = f"{target.label()}: first version, {len(new_pins)} packages pinned"
    else:
        report = diff_pins(before.lock().pins, new_pins).render(before.label(), target.label())
    return target, report


def _requirement(entry: str) -> Requirement:
    try:
        return Requirement(entry)
    except InvalidRequirement:
        raise EnvError(f"package {entry!r} is not a requirement like 'name' or 'name>=1.2'") from None
