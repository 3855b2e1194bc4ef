"""The vault password of a site's inventory, taken the way Ansible takes it.

Sources, all of them used when several are given (as ansible-playbook does): ``--vault-password-file
FILE`` (repeatable; a file holding the password or an executable that prints it),
``ANSIBLE_VAULT_PASSWORD_FILE`` (or ``vault_password_file`` in ansible.cfg) and ``--ask-vault-pass``
(a prompt on the terminal, once per command). Without a terminal the prompt is skipped when a file
gives the password, and refused when none does.

The playbooks a procedure runs through ansible-runner get the same sources: the password files'
paths on their command line, a prompted password typed into ansible-playbook's own prompt; the
password itself is never on a command line, in the environment or in the run's artifacts.
"""

from __future__ import annotations

import getpass
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENV = "ANSIBLE_VAULT_PASSWORD_FILE"
HOW = f"give the password with --vault-password-file FILE, {ENV}=FILE or --ask-vault-pass"
HEADER = b"$ANSIBLE_VAULT"
# ansible-playbook's --ask-vault-pass prompt (the format ansible-runner and AWX answer).
PROMPT_PATTERN = r"Vault password:\s*?$"
# Files Ansible reads as inventory or variables (hosts.yml, group_vars/, host_vars/).
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")


class VaultError(Exception):
    """The vault password is missing, unreadable or wrong: one line for the operator."""


@dataclass
class _Sources:
    files: tuple[Path, ...] = ()
    ask: bool = False


_sources = _Sources()
_loaded: dict[str, Any] = {}  # "secrets": [(vault id, VaultSecret)], "prompted": bytes | None


def configure(files: list[Path] | None = None, ask: bool = False) -> None:
    """Record the command line's sources (the CLI calls this before loading a site)."""
    global _sources
    _sources = _Sources(tuple(Path(f).expanduser().absolute() for f in files or ()), ask)
    _loaded.clear()


def password_files() -> list[Path]:
    """The password files given: --vault-password-file, then ANSIBLE_VAULT_PASSWORD_FILE / ansible.cfg."""
    files = list(_sources.files)
    configured = os.environ.get(ENV) or _configured_file()
    if configured:
        path = Path(configured).expanduser().absolute()
        if path not in files:
            files.append(path)
    return files


def _configured_file() -> str | None:
    from ansible import constants

    value = constants.DEFAULT_VAULT_PASSWORD_FILE
    return str(value) if value else None


def given() -> bool:
    return bool(password_files()) or _sources.ask


def _can_prompt() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def secrets() -> list[tuple[str, Any]]:
    """The vault secrets of the given sources, loaded (and prompted for) once per process."""
    if "secrets" in _loaded:
        return list(_loaded["secrets"])
    from ansible.constants import DEFAULT_VAULT_IDENTITY
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret, get_file_vault_secret

    found: list[tuple[str, Any]] = []
    for path in password_files():
        if not path.exists():
            raise VaultError(f"the vault password file {path} does not exist")
        try:
            secret = get_file_vault_secret(filename=str(path), loader=DataLoader())
            secret.load()
        except AnsibleError as error:
            first = str(getattr(error, "message", error)).strip().splitlines()[0]
            raise VaultError(f"cannot read the vault password file {path}: {first}") from error
        found.append((DEFAULT_VAULT_IDENTITY, secret))
    prompted: bytes | None = None
    if _sources.ask:
        if _can_prompt():
            prompted = getpass.getpass("Vault password: ").encode()
            if not prompted:
                raise VaultError("an empty vault password was given at the prompt")
            found.append((DEFAULT_VAULT_IDENTITY, VaultSecret(prompted)))
        elif not found:
            raise VaultError(
                f"--ask-vault-pass needs a terminal; without one use --vault-password-file FILE or {ENV}=FILE"
            )
    _loaded["secrets"] = found
    _loaded["prompted"] = prompted
    return list(found)


def encrypted_files(inventory: Path) -> list[Path]:
    """Files of the inventory that hold vault-encrypted data (a whole file, or ``!vault`` values)."""
    found = []
    for path in sorted(inventory.rglob("*")):
        if not path.is_file() or path.suffix not in VARS_SUFFIXES or path.name.startswith("."):
            continue
        head = path.read_bytes()
        if head.lstrip().startswith(HEADER) or b"!vault" in head:
            found.append(path)
    return found


class _Ciphertext(str):
    """A ``!vault`` value as written in the file."""


class _TagLoader(yaml.SafeLoader):
    """YAML with Ansible's ``!vault`` tag kept as its ciphertext (other Ansible tags as plain values)."""


_TagLoader.add_constructor("!vault", lambda loader, node: _Ciphertext(loader.construct_scalar(node)))
_TagLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _ciphertexts(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    if raw.lstrip().startswith(HEADER):
        return [raw]
    found: list[bytes] = []

    def walk(value: Any) -> None:
        if isinstance(value, _Ciphertext):
            found.append(value.encode())
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    try:
        walk(yaml.load(raw, Loader=_TagLoader))
    except yaml.YAMLError:
        return []  # Ansible names the syntax error itself
    return found


def check_inventory(inventory: Path, site: str) -> list[tuple[str, Any]]:
    """The secrets that open every encrypted file of the inventory ([] when none is encrypted);
    VaultError naming the first file when no password is given or the given ones do not open it."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultLib

    encrypted = encrypted_files(inventory)
    if not encrypted:
        return secrets() if given() else []
    if not given():
        raise VaultError(
            f"site {site!r}: {encrypted[0]} is vault-encrypted and no vault password was given: {HOW}"
        )
    vault = VaultLib(secrets())
    for path in encrypted:
        for ciphertext in _ciphertexts(path):
            try:
                vault.decrypt(ciphertext)
            except AnsibleError as error:
                raise VaultError(
                    f"site {site!r}: the vault password given ({_describe()}) does not decrypt {path}"
                ) from error
    return secrets()


def activate(found: list[tuple[str, Any]]) -> None:
    """Make the secrets Ansible's ambient ones, which ``!vault`` values decrypt with when templated
    (ansible-playbook sets them once per process; a runbook may read several sites)."""
    from ansible.parsing.vault import VaultSecretsContext

    current = VaultSecretsContext.current(optional=True)
    if current is None:
        VaultSecretsContext.initialize(VaultSecretsContext(list(found)))
    else:
        current.secrets = list(found)


def _describe() -> str:
    parts = [str(p) for p in password_files()]
    if _loaded.get("prompted"):
        parts.append("the prompt")
    return ", ".join(parts) or "none"


def runner_options() -> tuple[str, dict[str, str], dict[str, str]]:
    """For ansible-runner: the command line options (password files' paths), the environment (an
    absolute ANSIBLE_VAULT_PASSWORD_FILE, since the playbook runs from another directory) and the
    answer to ansible-playbook's prompt when the password was prompted for (never written to disk:
    the runs suppress their env files)."""
    if not given():
        return "", {}, {}
    secrets()  # prompt now, once, if asked to
    args: list[str] = []
    for path in password_files():
        args += ["--vault-password-file", str(path)]
    envvars = {}
    if os.environ.get(ENV):
        envvars[ENV] = str(Path(os.environ[ENV]).expanduser().absolute())
    passwords = {}
    prompted = _loaded.get("prompted")
    if prompted:
        args.append("--ask-vault-pass")
        passwords[PROMPT_PATTERN] = prompted.decode()
    return shlex.join(args), envvars, passwords
