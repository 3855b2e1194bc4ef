"""rotate-secrets: new hub cookie secret and proxy token; the OAuth client secret the provider issued.

The inventory says where they live: ``runbook_secrets_file`` (a YAML vars file of the inventory,
plain or ansible-vault encrypted) and ``runbook_secret_variables`` (which variable holds which
secret). The cookie secret and the proxy token are ours: new random values. The OAuth client secret
is the identity provider's: the operator makes a new one there and gives it in a file
(``--oauth-secret-file``; never on the command line); the runbook never invents it. Before any change
it checks that each variable it writes is the one the hub reads (the hub role's
``jupyterhub_cookie_secret``, ``jupyterhub_proxy_token``, ``jupyterhub_oauth_client_secret``, or a
variable those are set from). The old file is kept, mode 0600, in the run's directory (the way back);
the values are never printed nor written to the audit log. Then the hub stage is re-converged so the
hub uses them.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import yaml

from runbooks import vault
from runbooks.engine import Context, Refused, Step
from runbooks.procedures import Param
from runbooks.procedures.common import hub_converge

NAME = "rotate-secrets"
SUMMARY = "New hub cookie secret and proxy token (and the provider's new OAuth secret); re-converge the hub."
WHEN = "A secret may have leaked (a laptop lost, a log shared), someone with access left, or on schedule."
PARAMS = {
    "only": Param(
        "rotate one secret only",
        choices=("all", "cookie_secret", "proxy_token", "oauth_client_secret"),
        default="all",
    ),
    "oauth-secret-file": Param(
        "a file holding the new OAuth client secret your identity provider issued (make it there first); "
        "without it the OAuth client secret is left as it is"
    ),
}
SECRETS = ("cookie_secret", "proxy_token", "oauth_client_secret")
# The variable of the hub role that uses each secret.
HUB_VARIABLES = {
    "cookie_secret": "jupyterhub_cookie_secret",
    "proxy_token": "jupyterhub_proxy_token",
    "oauth_client_secret": "jupyterhub_oauth_client_secret",
}
VAULT_HEADER = "$ANSIBLE_VAULT"


def _file(ctx: Context) -> Path:
    path = ctx.site.var("runbook_secrets_file")
    if not isinstance(path, str) or not path or "{{" in path:
        raise Refused(f"site {ctx.site.name}: runbook_secrets_file (where the hub's secrets live) is not set")
    return Path(path).expanduser()


def _chosen(ctx: Context) -> tuple[str, ...]:
    """The secrets this run rotates: the OAuth client secret only with the provider's new one."""
    only = ctx.params.get("only") or "all"
    if only == "oauth_client_secret" and not ctx.params.get("oauth-secret-file"):
        raise Refused(
            "rotate-secrets: the OAuth client secret is issued by your identity provider: create a new "
            "one there, put it in a file (mode 0600) and give --oauth-secret-file FILE; the runbook never "
            "invents it"
        )
    if only != "all":
        return (only,)
    return SECRETS if ctx.params.get("oauth-secret-file") else ("cookie_secret", "proxy_token")


def _oauth_secret(ctx: Context) -> str:
    path = Path(str(ctx.params["oauth-secret-file"])).expanduser()
    try:
        value = path.read_text().strip()
    except OSError as error:
        raise Refused(
            f"rotate-secrets: --oauth-secret-file {path} cannot be read ({error.strerror})"
        ) from error
    if not value or "\n" in value:
        raise Refused(f"rotate-secrets: --oauth-secret-file {path} must hold the secret alone, on one line")
    return value


def _variables(ctx: Context) -> dict[str, str]:
    mapping = ctx.site.var("runbook_secret_variables") or {}
    chosen = _chosen(ctx)
    missing = [s for s in chosen if not mapping.get(s)]
    if missing:
        raise Refused(
            f"site {ctx.site.name}: runbook_secret_variables does not name the variable of "
            + ", ".join(missing)
        )
    return {s: str(mapping[s]) for s in chosen}


def _vault(ctx: Context) -> Any:
    """The vault of the secrets file: the site's runbook_vault_password_file (first: it encrypts the
    new file) and the password the runbook was given (--vault-password-file,
    ANSIBLE_VAULT_PASSWORD_FILE, --ask-vault-pass)."""
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultLib, get_file_vault_secret

    found = []
    password_file = ctx.site.var("runbook_vault_password_file")
    if password_file:
        secret = get_file_vault_secret(filename=str(password_file), loader=DataLoader())
        secret.load()
        found.append((DEFAULT_VAULT_ID_MATCH, secret))
    if vault.given():
        try:
            found += vault.secrets()
        except vault.VaultError as error:
            raise Refused(str(error)) from error
    if not found:
        raise Refused(f"{_file(ctx)} is vault-encrypted: {vault.HOW} (or set runbook_vault_password_file)")
    return VaultLib(found)


def read_vars(ctx: Context) -> tuple[dict[str, Any], bool]:
    values, encryption = _read(ctx)
    return values, encryption is not None


def _read(ctx: Context) -> tuple[dict[str, Any], tuple[str, Any] | None]:
    """The file's variables, and when it is encrypted its vault id label (None for an unlabelled file)
    and the secret that opened it: it is written back under both, as `ansible-vault edit` does, not
    with the first password given."""
    path = _file(ctx)
    if not path.exists():
        return {}, None
    raw = path.read_bytes()
    if not raw.lstrip().startswith(VAULT_HEADER.encode()):
        return yaml.safe_load(raw) or {}, None
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import parse_vaulttext_envelope

    try:
        _, version, _, label = parse_vaulttext_envelope(raw)
        label = label if version == b"1.2" else None  # 1.1 files have no label
        raw, _, secret = _vault(ctx).decrypt_and_get_vault_id(raw)
    except AnsibleError as error:
        raise Refused(
            f"{path} does not decrypt with the vault passwords given: {vault.HOW} "
            "(or set runbook_vault_password_file)"
        ) from error
    return yaml.safe_load(raw) or {}, (label, secret)


def _fingerprint(values: dict[str, Any], names: list[str]) -> str:
    return hashlib.sha256("\0".join(str(values.get(n, "")) for n in names).encode()).hexdigest()[:16]


def _not_read_by_the_hub(ctx: Context, secret: str, variable: str, current: dict[str, Any]) -> str | None:
    """Why the hub would not see a new value of `variable`, or None: it is the hub role's variable, or
    the inventory sets that one from it (its value is the file's, or its definition names it)."""
    hub_variable = HUB_VARIABLES[secret]
    if variable == hub_variable:
        return None
    used = ctx.site.var(hub_variable)
    if current.get(variable) not in (None, "") and used == current[variable]:
        return None
    reference = re.compile(r"{{\s*" + re.escape(variable) + r"\s*}}")
    written = (used, ctx.site.definition(hub_variable))
    if any(isinstance(text, str) and reference.search(text) for text in written):
        return None
    return (
        f"runbook_secret_variables.{secret} is {variable}, but the hub reads {hub_variable}, which is "
        f'not set from it: set {hub_variable}: "{{{{ {variable} }}}}" in the inventory, or name '
        f"{hub_variable}"
    )


def _check(ctx: Context) -> None:
    path = _file(ctx)
    if not path.parent.is_dir():
        raise Refused(f"{path.parent} (the directory of runbook_secrets_file) does not exist")
    variables = _variables(ctx)
    names = list(variables.values())
    current, encrypted = read_vars(ctx)
    problems = [
        problem
        for secret, variable in variables.items()
        if (problem := _not_read_by_the_hub(ctx, secret, variable, current))
    ]
    if problems:
        raise Refused("; ".join(problems))
    oauth_variable = variables.get("oauth_client_secret")
    if oauth_variable and _oauth_secret(ctx) == current.get(oauth_variable):
        raise Refused(
            f"rotate-secrets: --oauth-secret-file holds the OAuth client secret already in "
            f"{oauth_variable}: give the new one your identity provider issued"
        )
    ctx.data.setdefault("before", _fingerprint(current, names))
    ctx.data.setdefault("encrypted", encrypted)


def _keep_old(ctx: Context) -> str:
    path = _file(ctx)
    if ctx.data.get("kept") and Path(ctx.data["kept"]).exists():  # a resumed run: never overwrite it
        return f"old file already kept as {ctx.data['kept']} by an earlier attempt"
    if not path.exists():
        ctx.data["kept"] = None
        return f"{path} does not exist yet: nothing to keep"
    kept = ctx.run_dir / "secrets-before.yml"
    shutil.copyfile(path, kept)
    kept.chmod(0o600)
    ctx.data["kept"] = str(kept)
    return f"old file kept as {kept} (mode 0600)"


def _write(ctx: Context) -> str:
    path = _file(ctx)
    current, encryption = _read(ctx)
    variables = _variables(ctx)
    for secret, variable in variables.items():
        current[variable] = _oauth_secret(ctx) if secret == "oauth_client_secret" else secrets.token_hex(32)
    text = yaml.safe_dump(current, default_flow_style=False, sort_keys=True).encode()
    encrypted = encryption is not None
    if encryption is not None:
        from ansible.parsing.vault import VaultLib

        label, opened_with = encryption
        text = VaultLib().encrypt(text, secret=opened_with, vault_id=label)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text if text.endswith(b"\n") else text + b"\n")
    tmp.replace(path)
    ctx.data["after"] = _fingerprint(current, list(variables.values()))
    return f"new {', '.join(variables)} written to {path}" + (" (vault-encrypted)" if encrypted else "")


def _verify_write(ctx: Context) -> str | None:
    current, _ = read_vars(ctx)
    names = list(_variables(ctx).values())
    if _fingerprint(current, names) != ctx.data.get("after"):
        return f"{_file(ctx)} does not hold the values just written"
    if ctx.data["after"] == ctx.data["before"]:
        return "the secrets did not change"
    return None


def steps(ctx: Context) -> list[Step]:
    def which(c: Context) -> str:
        return ", ".join(f"{s} ({v})" for s, v in _variables(c).items())

    return [
        Step(
            "check-inputs",
            lambda c: f"read {_file(c)}",
            lambda c: f"rotating {which(c)}",
            precondition=_check,
        ),
        Step(
            "keep-old-secrets", lambda c: f"copy {_file(c)} into the run's directory (mode 0600)", _keep_old
        ),
        Step(
            "write-new-secrets",
            lambda c: (
                f"write new values of {which(c)} to {_file(c)} (random; the OAuth client secret from "
                "--oauth-secret-file): users' sessions end"
            ),
            _write,
            _verify_write,
            destructive=True,
        ),
        hub_converge(),
    ]
