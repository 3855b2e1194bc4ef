"""rotate-secrets never invents the OAuth client secret and only writes variables the hub reads.

The real procedure on the local site's inventory (its hub stage is skipped: no hub token here),
with the secrets file in a temporary directory: the cookie secret and proxy token get new random
values; the OAuth client secret is rotated only to the value the provider issued, given in a file;
a variable the hub does not read (an example-like `vault_*` name the hub's variable is not set from)
is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from runbooks_site import run, with_vars

from runbooks.engine import Refused
from runbooks.site import Site, load_site

OLD = {"jupyterhub_cookie_secret": "a" * 64, "jupyterhub_proxy_token": "b" * 64, "other": "kept"}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The local site without a hub to re-converge (a `make demo` in this checkout leaves its token)."""
    nowhere = tmp_path_factory.mktemp("no-hub") / "token"
    return with_vars(load_site("local"), runbook_hub_api_token="", runbook_hub_api_token_file=str(nowhere))


@pytest.fixture
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("RUNBOOK_OUTPUT_DIR", str(tmp_path / "output"))
    path = tmp_path / "hub-secrets.yml"
    path.write_text(yaml.safe_dump(OLD))
    yield path


def test_without_the_providers_secret_the_oauth_secret_is_left_alone(local: Site, secrets_file: Path) -> None:
    run(with_vars(local, runbook_secrets_file=str(secrets_file)), "rotate-secrets")
    new = yaml.safe_load(secrets_file.read_text())
    assert "jupyterhub_oauth_client_secret" not in new  # not invented
    for name in ("jupyterhub_cookie_secret", "jupyterhub_proxy_token"):
        assert len(new[name]) == 64 and new[name] != OLD[name]
    assert new["other"] == "kept"


def test_the_providers_secret_is_taken_from_a_file(local: Site, secrets_file: Path, tmp_path: Path) -> None:
    issued = tmp_path / "issued"
    issued.write_text("provider-issued-secret-0123\n")
    site = with_vars(local, runbook_secrets_file=str(secrets_file))
    with pytest.raises(Refused, match=r"issued by your identity provider.*--oauth-secret-file FILE"):
        run(site, "rotate-secrets", "--only", "oauth_client_secret")
    assert yaml.safe_load(secrets_file.read_text()) == OLD
    run(site, "rotate-secrets", "--only", "oauth_client_secret", "--oauth-secret-file", str(issued))
    new = yaml.safe_load(secrets_file.read_text())
    assert new == {**OLD, "jupyterhub_oauth_client_secret": "provider-issued-secret-0123"}
    with pytest.raises(Refused, match="already in jupyterhub_oauth_client_secret"):  # the same one again
        run(site, "rotate-secrets", "--only", "oauth_client_secret", "--oauth-secret-file", str(issued))
    with pytest.raises(Refused, match="cannot be read"):
        run(site, "rotate-secrets", "--oauth-secret-file", str(tmp_path / "nowhere"))


def test_a_variable_the_hub_does_not_read_is_refused_before_a_write(local: Site, secrets_file: Path) -> None:
    """The example inventory's shape: runbook_secret_variables names vault_* variables; each must be
    what the hub's variable is set from."""
    mapping = {"cookie_secret": "vault_hub_cookie_secret", "proxy_token": "vault_hub_proxy_token"}
    unread = with_vars(
        local,
        runbook_secrets_file=str(secrets_file),
        runbook_secret_variables=mapping,
        jupyterhub_cookie_secret="",
        jupyterhub_proxy_token="{{ vault_hub_proxy_token }}",  # not in the file yet: names it
    )
    with pytest.raises(Refused) as refused:
        run(unread, "rotate-secrets")
    assert "cookie_secret is vault_hub_cookie_secret, but the hub reads jupyterhub_cookie_secret" in str(
        refused.value
    )
    assert 'set jupyterhub_cookie_secret: "{{ vault_hub_cookie_secret }}"' in str(refused.value)
    assert "proxy_token" not in str(refused.value)
    assert yaml.safe_load(secrets_file.read_text()) == OLD
    read = with_vars(unread, jupyterhub_cookie_secret="{{ vault_hub_cookie_secret }}")
    run(read, "rotate-secrets")
    new = yaml.safe_load(secrets_file.read_text())
    assert len(new["vault_hub_cookie_secret"]) == 64 and len(new["vault_hub_proxy_token"]) == 64


def test_the_example_inventory_rotates_what_its_hub_reads(tmp_path: Path) -> None:
    """inventories/example names vault_hub_* variables; its hub.yml sets the hub's variables from them,
    so a rotation of its vault file (a copy here) is accepted and the hub would read the new values."""
    example = load_site("example")
    vault_file = tmp_path / "vault.yml"
    vault_file.write_text((example.inventory / "group_vars" / "all" / "vault.yml").read_text())
    site = with_vars(example, runbook_secrets_file=str(vault_file), runbook_hub_api_token="")
    run(site, "rotate-secrets")
    new = yaml.safe_load(vault_file.read_text())
    assert len(new["vault_hub_cookie_secret"]) == 64 and len(new["vault_hub_proxy_token"]) == 64
    assert new["vault_hub_oauth_client_secret"] == "CHANGE-ME-with-ansible-vault"  # the provider's
