"""A site, as its inventory describes it: name, region, tags and the environment for AWS clients.

The inventory is read through Ansible's own API so templated values (the local site's emulator
endpoint, vault-encrypted secrets) resolve exactly as they do in a playbook run. An encrypted file
needs the vault password (runbooks.vault: --vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE,
--ask-vault-pass); without it, or with a wrong one, the site is refused naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from runbooks import vault

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTROL_HOST = "localhost"


class SiteError(Exception):
    """The site cannot be used: unknown name, broken inventory."""


@dataclass(frozen=True)
class Site:
    name: str
    inventory: Path
    region: str
    tags: dict[str, str]
    hostvars: dict[str, Any] = field(repr=False)
    resolve: Callable[[str, Any], Any] = field(repr=False)
    hosts: Callable[[str], dict[str, Any] | None] = field(repr=False, default=lambda _: None)
    # A variable as the inventory writes it, before templating ("{{ vault_x }}"), or None.
    definition: Callable[[str], Any] = field(repr=False, default=lambda _: None)

    @property
    def aws_environment(self) -> dict[str, str]:
        """Resolved when used: the local site's endpoint exists only while the emulator runs."""
        try:
            environment = self.resolve("site_aws_environment", {})
        except Exception as error:
            raise SiteError(
                f"site {self.name!r}: cannot resolve site_aws_environment ({error}); "
                "for the local site, start the emulator first: make emulator"
            ) from error
        return {str(k): str(v) for k, v in environment.items()}

    def var(self, name: str, default: Any = None) -> Any:
        return self.hostvars.get(name, default)

    def setting(self, name: str) -> Any:
        """A role variable as a converge of this site sees it: the inventory's value, else the role's
        documented default (None when that default is a template, known only inside a play)."""
        value = self.var(name)
        return documented_defaults().get(name) if value is None else value

    def host_vars(self, host: str) -> dict[str, Any] | None:
        """The resolved variables of another host of the inventory (how to reach it: ansible_host,
        ansible_port, ansible_user, the SSH key and arguments), or None when it is not there."""
        return self.hosts(host)

    @contextmanager
    def aws(self) -> Iterator[None]:
        """Run boto3 calls with the site's AWS environment (endpoint, profile) applied."""
        saved = {key: os.environ.get(key) for key in self.aws_environment}
        os.environ.update(self.aws_environment)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@cache
def documented_defaults() -> dict[str, Any]:
    """Every role variable's documented default: the roles' meta/argument_specs.yml (entry point
    main), which the role READMEs are generated from and tests/test_role_docs.py keeps equal to each
    role's defaults/main.yml. Templated defaults are left out."""
    import yaml

    found: dict[str, Any] = {}
    for spec in sorted((PROJECT_ROOT / "roles").glob("*/meta/argument_specs.yml")):
        entry = (yaml.safe_load(spec.read_text()) or {}).get("argument_specs", {}).get("main") or {}
        for name, option in (entry.get("options") or {}).items():
            default = option.get("default")
            if default is not None and not (isinstance(default, str) and "{{" in default):
                found[name] = default
    return found


def known_sites(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name for p in (root / "inventories").iterdir() if (p / "hosts.yml").exists())


def load_site(name: str, root: Path = PROJECT_ROOT) -> Site:
    inventory = root / "inventories" / name
    if not (inventory / "hosts.yml").exists():
        raise SiteError(f"unknown site {name!r}: known sites are {', '.join(known_sites(root)) or 'none'}")

    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    try:
        vault_secrets = vault.check_inventory(inventory, name)
    except vault.VaultError as error:
        raise SiteError(str(error)) from error
    _init_ansible(str(root / "collections"))
    loader = DataLoader()
    if vault_secrets:
        loader.set_vault_secrets(vault_secrets)
    vault.activate(vault_secrets)
    from ansible.errors import AnsibleError

    try:
        manager = InventoryManager(loader=loader, sources=[str(inventory)])
        host = manager.get_host(CONTROL_HOST)
        if host is None:
            raise SiteError(f"site {name!r}: inventory has no {CONTROL_HOST} in group aws")
        variables = VariableManager(loader=loader, inventory=manager).get_vars(host=host)
    except AnsibleError as error:  # a file Ansible cannot parse or decrypt: its first line, no trace
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SiteError(f"site {name!r}: cannot read its inventory: {first}") from error
    templar = Templar(loader=loader, variables=variables)

    def resolve(key: str, default: Any) -> Any:
        return templar.template(variables[key]) if key in variables else default

    hostvars = {key: value for key, value in variables.items() if not key.startswith("ansible_")}

    def hosts(host_name: str) -> dict[str, Any] | None:
        other = manager.get_host(host_name)
        if other is None:
            return None
        found = VariableManager(loader=loader, inventory=manager).get_vars(host=other)
        other_templar = Templar(loader=loader, variables=found)
        return {key: _resolve_quietly(other_templar, value) for key, value in found.items()}

    try:
        region = resolve("site_region", None)
        if not region:
            raise SiteError(f"site {name!r}: site_region is not set in {inventory}/group_vars")
        return Site(
            name=str(resolve("site_name", name)),
            inventory=inventory,
            region=str(region),
            tags={str(k): str(v) for k, v in resolve("site_tags", {}).items()},
            hostvars={key: _resolve_quietly(templar, value) for key, value in hostvars.items()},
            resolve=resolve,
            hosts=hosts,
            definition=variables.get,
        )
    except SiteError:
        raise
    except Exception as error:  # an Ansible templating error: name it for the operator
        raise SiteError(f"site {name!r}: cannot read its inventory: {error}") from error


@cache
def _init_ansible(collections_path: str) -> None:
    """Ansible's plugin loader, once per process (a second init is an error)."""
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([collections_path])


def _resolve_quietly(templar: Any, value: Any) -> Any:
    """Template a variable, leaving it raw when it refers to facts a run has not produced yet."""
    try:
        return templar.template(value)
    except Exception:
        return value


def reload_site(site: Site) -> Site:
    """The same site read again from its inventory: values that depend on files which changed since
    (a re-created host's ports, a new token) are current."""
    return load_site(str(site.inventory), site.inventory.parent.parent)
