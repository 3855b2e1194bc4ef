"""The vault password of a site's inventory, taken the way Ansible takes it.

Sources, all of them used when several are given, in ansible-playbook's order:
``ANSIBLE_VAULT_IDENTITY_LIST`` (or ``vault_identity_list`` in ansible.cfg; comma-separated vault ids),
``--vault-id`` (repeatable: ``LABEL@FILE``, ``LABEL@prompt``, ``FILE`` or ``prompt``),
``--vault-password-file FILE`` (repeatable; a file holding the password or an executable that prints
it), ``ANSIBLE_VAULT_PASSWORD_FILE`` (or ``vault_password_file`` in ansible.cfg) and
``--ask-vault-pass`` (a prompt on the terminal, once per command). Without a terminal the prompts are
skipped when a file gives a password, and refused when none does. A malformed vault id is refused in
one line naming where it came from.

The playbooks a procedure runs through ansible-runner get the same sources: the password files'
paths on their command line, a prompted password typed into ansible-playbook's own prompt; the
password itself is never on a command line, in the environment or in the run's artifacts.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENV = "ANSIBLE_VAULT_PASSWORD_FILE"
ENV_IDS = "ANSIBLE_VAULT_IDENTITY_LIST"
HOW = (
    f"give the password with --vault-password-file FILE, {ENV}=FILE, --vault-id LABEL@FILE, "
    f"{ENV_IDS}=LABEL@FILE or --ask-vault-pass"
)
HEADER = b"$ANSIBLE_VAULT"
# ansible-playbook's --ask-vault-pass prompt (the format ansible-runner and AWX answer).
PROMPT_PATTERN = r"Vault password:\s*?$"
# A vault id's label: what `ansible-vault encrypt --vault-id LABEL@...` writes into the file's header
# ($ANSIBLE_VAULT;1.2;AES256;LABEL), so no ';', '@', ',' or blanks.
LABEL = re.compile(r"[A-Za-z0-9_.+-]+")
ID_FORMS = "LABEL@FILE, LABEL@prompt, FILE or prompt (LABEL: letters, digits, '.', '_', '+', '-')"
# Sources ansible-playbook reads as a prompt rather than a file.
PROMPTS = ("prompt", "prompt_ask_vault_pass")
# Files Ansible reads as inventory or variables (hosts.yml, group_vars/, host_vars/).
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")


class VaultError(Exception):
    """The vault password is missing, unreadable or wrong: one line for the operator."""


@dataclass(frozen=True)
class VaultId:
    """One vault id: the label its secret answers to and a password file, or None for a prompt."""

    label: str
    file: Path | None

    @property
    def slug(self) -> str:
        """As ansible-playbook's --vault-id takes it (the file's path absolute)."""
        return f"{self.label}@{self.file if self.file is not None else 'prompt'}"


def parse_vault_id(value: str, where: str) -> VaultId:
    """``LABEL@FILE``, ``LABEL@prompt``, ``FILE`` or ``prompt`` (label ``default``), as ansible-playbook
    reads --vault-id; VaultError naming ``where`` (the option or the setting) otherwise."""
    from ansible.constants import DEFAULT_VAULT_IDENTITY

    label, at, source = value.strip().partition("@")
    if not at:
        label, source = DEFAULT_VAULT_IDENTITY, label
    if not source or not LABEL.fullmatch(label):
        raise VaultError(f"{where} {value!r} is not a vault id: expected {ID_FORMS}")
    if source in PROMPTS:
        return VaultId(label, None)
    return VaultId(label, Path(source).expanduser().absolute())


def _configured_ids() -> tuple[list[str], str]:
    """The vault ids of ANSIBLE_VAULT_IDENTITY_LIST, else of vault_identity_list in ansible.cfg."""
    if ENV_IDS in os.environ:  # set, even empty: it overrides ansible.cfg, as in Ansible
        return [part for part in os.environ[ENV_IDS].split(",") if part.strip()], ENV_IDS
    from ansible import constants

    return [str(v) for v in constants.DEFAULT_VAULT_IDENTITY_LIST or ()], "vault_identity_list in ansible.cfg"


@dataclass
class _Sources:
    files: tuple[Path, ...] = ()
    ask: bool = False
    ids: tuple[VaultId, ...] = ()  # the configured list's, then --vault-id's
    configured: int = 0  # how many of ids come from the configured list


_sources = _Sources()
_loaded: dict[str, Any] = {}  # "secrets": [(vault id, VaultSecret)], "prompted": bytes | None


def configure(files: list[Path] | None = None, ask: bool = False, ids: list[str] | None = None) -> None:
    """Record the command line's sources (the CLI calls this before loading a site); VaultError when a
    vault id, of the command line or the configured list, is malformed."""
    global _sources
    _sources = _Sources()
    _loaded.clear()
    configured, where = _configured_ids()
    parsed = [parse_vault_id(value, where) for value in configured]
    parsed += [parse_vault_id(value, "--vault-id") for value in ids or ()]
    _sources = _Sources(
        tuple(Path(f).expanduser().absolute() for f in files or ()), ask, tuple(parsed), len(configured)
    )


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
    return bool(password_files()) or _sources.ask or bool(_sources.ids)


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

    def from_file(path: Path, label: str) -> Any:
        if not path.exists():
            raise VaultError(f"the vault password file {path} does not exist")
        try:
            secret = get_file_vault_secret(filename=str(path), vault_id=label, loader=DataLoader())
            secret.load()
        except AnsibleError as error:
            first = str(getattr(error, "message", error)).strip().splitlines()[0]
            raise VaultError(f"cannot read the vault password file {path}: {first}") from error
        return secret

    # ansible-playbook's order: the vault ids, then the password files, then --ask-vault-pass.
    found: list[tuple[str, Any]] = []
    asked: list[VaultId] = []
    for vault_id in _sources.ids:
        if vault_id.file is None:
            asked.append(vault_id)
        else:
            found.append((vault_id.label, from_file(vault_id.file, vault_id.label)))
    found += [(DEFAULT_VAULT_IDENTITY, from_file(path, DEFAULT_VAULT_IDENTITY)) for path in password_files()]
    prompts = [(f"Vault password ({v.label}): ", v.label) for v in asked]
    if _sources.ask:
        prompts.append(("Vault password: ", DEFAULT_VAULT_IDENTITY))
    prompted: dict[str, bytes] = {}
    if prompts and not _can_prompt():
        if not found:
            raise VaultError(
                f"{'--ask-vault-pass' if _sources.ask else f'--vault-id {asked[0].slug}'} needs a terminal; "
                f"without one use --vault-password-file FILE, {ENV}=FILE or --vault-id LABEL@FILE"
            )
        prompts = []
    for prompt, label in prompts:
        typed = getpass.getpass(prompt).encode()
        if not typed:
            raise VaultError(f"an empty vault password was given at the prompt {prompt.strip()!r}")
        prompted[prompt] = typed
        found.append((label, VaultSecret(typed)))
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
    parts = [f"vault id {v.label}: {v.file}" for v in _sources.ids if v.file is not None]
    parts += [str(p) for p in password_files()]
    parts += [f"the prompt {prompt.strip()!r}" for prompt in _loaded.get("prompted") or {}]
    return ", ".join(parts) or "none"


def runner_options() -> tuple[str, dict[str, str], dict[str, str]]:
    """For ansible-runner: the command line options (vault ids and password files by absolute path),
    the environment (ANSIBLE_VAULT_PASSWORD_FILE and ANSIBLE_VAULT_IDENTITY_LIST with absolute paths,
    since the playbook runs from another directory) and the answers to ansible-playbook's prompts for
    the passwords that were prompted for (never written to disk: the runs suppress their env files)."""
    from ansible.constants import DEFAULT_VAULT_IDENTITY

    if not given():
        return "", {}, {}
    secrets()  # prompt now, once, if asked to
    prompted: dict[str, bytes] = _loaded.get("prompted") or {}
    configured, from_cli = _sources.ids[: _sources.configured], _sources.ids[_sources.configured :]
    args: list[str] = []
    passwords: dict[str, str] = {}
    for vault_id in from_cli:
        prompt = f"Vault password ({vault_id.label}): "
        if vault_id.file is None and prompt not in prompted:
            continue  # no terminal: the files given open the inventory
        args += ["--vault-id", vault_id.slug]
    for path in password_files():
        args += ["--vault-password-file", str(path)]
    envvars = {}
    if os.environ.get(ENV):
        envvars[ENV] = str(Path(os.environ[ENV]).expanduser().absolute())
    # The configured list: ansible-playbook reads it first, as the runbook did. Prompts that were not
    # answered (no terminal) are left out; when none is left, the variable (inherited by the playbook)
    # names a file already given, since an empty value reads as one empty vault id.
    kept = [v.slug for v in configured if v.file is not None or f"Vault password ({v.label}): " in prompted]
    if not kept and os.environ.get(ENV_IDS):
        files = [v.slug for v in _sources.ids if v.file is not None]
        kept = files[:1] or [f"{DEFAULT_VAULT_IDENTITY}@{path}" for path in password_files()[:1]]
    if kept:
        envvars[ENV_IDS] = ",".join(kept)
    for prompt, typed in prompted.items():
        if prompt == "Vault password: ":
            args.append("--ask-vault-pass")
            passwords[PROMPT_PATTERN] = typed.decode()
        else:
            passwords[re.escape(prompt.rstrip()) + r"\s*?$"] = typed.decode()
    return shlex.join(args), envvars, passwords
