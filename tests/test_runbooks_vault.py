"""The runbook CLI on an ansible-vault encrypted inventory: a copy of the local site whose vault file
(group_vars/all/vault.yml: the site's name and a hub secret) is encrypted with the real
ansible-vault. Every command reads it with --vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE or
--ask-vault-pass, and without a password (or with a wrong one) fails with one line, changing nothing.
The AWS side is an empty emulator: commands that need a converged site get as far as refusing for
what does not exist, under the name that only the encrypted file holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pexpect
import pytest
import yaml
from ansible_run import operator_copy

from emulator.launcher import running_emulator
from runbooks import vault
from runbooks.ansible import run_playbook
from runbooks.engine import Context
from runbooks.site import PROJECT_ROOT, SiteError, load_site

BIN = Path(sys.executable).parent
PASSWORD = "correct-horse-7f3a9c"
SECRET = "oauth-secret-from-the-vault-51b2"
NAME = "vaulted"  # site_name, set in the encrypted file only
NO_PASSWORD = "is vault-encrypted and no vault password was given"
WAYS = ("--vault-password-file FILE", "ANSIBLE_VAULT_PASSWORD_FILE=FILE", "--ask-vault-pass")

# Each command as an operator runs it, and what it prints once it has read the inventory. Against an
# empty emulator the home file system does not exist: those commands refuse, naming the site.
NO_HOMES = f"site {NAME} has no home file system"
COMMANDS: dict[str, tuple[list[str], str, int]] = {
    "status": (["status"], f"site {NAME} (us-east-1)", 0),
    "cost": (["cost"], "total", 0),
    "cost-cap": (["cost-cap"], "cost cap: off", 0),
    "quota-report": (["quota-report"], NO_HOMES, 2),
    "run rotate-secrets (dry run)": (["run", "rotate-secrets"], "DRY RUN", 0),
    "run restore-user-home (dry run)": (["run", "restore-user-home", "--user", "alice"], NO_HOMES, 2),
    "drill user-files": (["drill", "user-files"], NO_HOMES, 2),
}


def ansible_vault(*args: str) -> None:
    subprocess.run([str(BIN / "ansible-vault"), *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The encrypted site, its password file, a wrong one, the site's output directory with the
    hub's secrets file (encrypted too, as rotate-secrets finds it on a real site) and an emulator."""
    root = tmp_path_factory.mktemp("vault")
    copy = operator_copy(
        "local",
        root,
        name=NAME,
        secrets={"site_name": NAME, "vault_hub_oauth_client_secret": SECRET},
        password=PASSWORD,
    )
    site, password = copy.inventory, copy.password_file
    secrets_file = site / "group_vars" / "all" / "vault.yml"
    wrong = root / "wrong-password"
    wrong.write_text("not-the-password\n")
    out = root / "site-output"
    out.mkdir()
    hub_secrets = out / "hub-secrets.yml"
    hub_secrets.write_text("jupyterhub_cookie_secret: before\n")
    ansible_vault("encrypt", "--vault-password-file", str(password), str(hub_secrets))
    with running_emulator(root / "emulator", kubernetes=False) as emulator:
        yield {
            "root": root,
            "site": site,
            "vault_file": secrets_file,
            "password": password,
            "wrong": wrong,
            "out": out,
            "runs": root / "runs",
            "emulator": emulator.state_dir,
        }


def environment(work: dict[str, Path], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (vault.ENV, vault.ENV_IDS, "RUNBOOK_DEBUG")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),  # this checkout's runbooks, whatever the venv was installed from
        EMULATOR_STATE_DIR=str(work["emulator"]),
        SITE_OUTPUT_DIR=str(work["out"]),
        RUNBOOK_OUTPUT_DIR=str(work["runs"]),
    )
    env.update(extra)
    return env


def runbook(work: dict[str, Path], args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "runbook"), *args, "--site", str(work["site"])],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        cwd=work["root"],
        timeout=120,
    )


def every_command(
    work: dict[str, Path], extra_args: list[str], env: dict[str, str]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """All the commands at once (each is a fresh process importing Ansible: about 2 s of CPU)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(runbook, work, [*args, *extra_args], env)
            for name, (args, _, _) in COMMANDS.items()
        }
        return {name: future.result() for name, future in futures.items()}


def state(work: dict[str, Path]) -> dict[str, bytes]:
    """Everything the commands could change: the inventory, the site's output, the run records."""
    return {
        str(p): p.read_bytes()
        for top in (work["site"], work["out"], work["runs"])
        if top.exists()
        for p in sorted(top.rglob("*"))
        if p.is_file()
    }


def assert_worked(results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    for name, done in results.items():
        _, marker, code = COMMANDS[name]
        output = done.stdout + done.stderr
        assert "Traceback" not in output and "vault password" not in output, f"{name}: {output}"
        assert "vault-encrypted" not in output, f"{name}: {output}"
        assert marker in output and done.returncode == code, f"{name} (rc {done.returncode}): {output}"


@pytest.mark.parametrize("how", ["--vault-password-file", vault.ENV])
def test_every_command_reads_the_encrypted_inventory(work: dict[str, Path], how: str) -> None:
    if how == vault.ENV:
        results = every_command(work, [], environment(work, **{vault.ENV: str(work["password"])}))
    else:
        results = every_command(work, ["--vault-password-file", str(work["password"])], environment(work))
    assert_worked(results)


def test_without_a_password_every_command_says_so_in_one_line(work: dict[str, Path]) -> None:
    before = state(work)
    results = every_command(work, [], environment(work))
    for name, done in results.items():
        assert done.returncode == 2, f"{name}: {done.stdout}{done.stderr}"
        assert done.stdout == "" and done.stderr.count("\n") == 1, f"{name}: {done.stderr}"
        line = done.stderr
        assert str(work["vault_file"]) in line and NO_PASSWORD in line, line
        assert all(way in line for way in WAYS), line
    assert state(work) == before


def test_a_wrong_password_is_one_line_naming_the_file(work: dict[str, Path]) -> None:
    before = state(work)
    wrong = ["--vault-password-file", str(work["wrong"])]
    for args in (["status"], ["cost"], ["run", "rotate-secrets", "--apply", "--yes"]):
        done = runbook(work, [*args, *wrong], environment(work))
        assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
        assert f"does not decrypt {work['vault_file']}" in done.stderr and "Traceback" not in done.stderr
    missing = runbook(
        work, ["cost", "--vault-password-file", str(work["root"] / "nowhere")], environment(work)
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert f"the vault password file {work['root'] / 'nowhere'} does not exist" in missing.stderr
    assert state(work) == before


def test_ask_vault_pass_prompts_once_on_a_terminal(work: dict[str, Path]) -> None:
    """cost --compare reads the site twice: one prompt; the password is not echoed."""
    child = pexpect.spawn(
        str(BIN / "runbook"),
        ["cost", "--site", str(work["site"]), "--compare", str(work["site"]), "--ask-vault-pass"],
        env=environment(work),
        cwd=str(work["root"]),
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Vault password: ")
    child.sendline(PASSWORD)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "total" in child.before and "Vault password" not in child.before and PASSWORD not in child.before


def test_ask_vault_pass_without_a_terminal(work: dict[str, Path]) -> None:
    """Refused in one line unless a file gives the password, which is then used alone."""
    done = runbook(work, ["cost", "--ask-vault-pass"], environment(work))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "--ask-vault-pass needs a terminal" in done.stderr and vault.ENV in done.stderr
    with_file = runbook(
        work, ["status", "--ask-vault-pass"], environment(work, **{vault.ENV: str(work["password"])})
    )
    assert with_file.returncode == 0 and f"site {NAME} (us-east-1)" in with_file.stdout, with_file.stderr


def test_rotate_secrets_applies_with_the_password_given_to_the_cli(work: dict[str, Path]) -> None:
    """The encrypted secrets file is read and written back encrypted with the password the CLI got."""
    hub_secrets = work["out"] / "hub-secrets.yml"
    done = runbook(
        work,
        ["run", "rotate-secrets", "--apply", "--yes"],
        environment(work, **{vault.ENV: str(work["password"])}),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(vault-encrypted)" in done.stdout and PASSWORD not in done.stdout + done.stderr
    assert hub_secrets.read_text().startswith("$ANSIBLE_VAULT")
    plain = subprocess.run(
        [
            str(BIN / "ansible-vault"),
            "view",
            "--vault-password-file",
            str(work["password"]),
            str(hub_secrets),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = yaml.safe_load(plain)
    # The OAuth client secret is the provider's: without --oauth-secret-file it is not written.
    assert set(values) == {"jupyterhub_cookie_secret", "jupyterhub_proxy_token"}
    assert values["jupyterhub_cookie_secret"] != "before"


@pytest.mark.parametrize("how", ["file", "prompt"])
def test_playbooks_of_a_procedure_get_the_password_and_never_store_it(
    work: dict[str, Path], how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ansible-playbook (through ansible-runner) reads the encrypted inventory: by the password
    file's path, or answering its own prompt with the password typed once at the runbook's."""
    monkeypatch.setenv("EMULATOR_STATE_DIR", str(work["emulator"]))
    monkeypatch.setenv("SITE_OUTPUT_DIR", str(work["out"]))
    monkeypatch.delenv(vault.ENV, raising=False)
    if how == "file":
        vault.configure([work["password"]])
    else:
        monkeypatch.setattr(vault, "_can_prompt", lambda: True)
        prompts: list[str] = []
        monkeypatch.setattr(vault.getpass, "getpass", lambda prompt: prompts.append(prompt) or PASSWORD)
        vault.configure(None, ask=True)
    try:
        site = load_site(str(work["site"]))
        playbook = tmp_path / "uses-the-vault.yml"
        playbook.write_text(
            yaml.safe_dump(
                [
                    {
                        "hosts": "localhost",
                        "gather_facts": False,
                        "tasks": [
                            {
                                "ansible.builtin.assert": {
                                    "that": [
                                        f"site_name == '{NAME}'",
                                        f"vault_hub_oauth_client_secret == '{SECRET}'",
                                    ],
                                    "quiet": True,
                                }
                            }
                        ],
                    }
                ]
            )
        )
        run_dir = tmp_path / "run"
        ctx = Context(site=site, procedure="test", params={}, apply=True, run_id="test", run_dir=run_dir)
        assert run_playbook(ctx, str(playbook))["failed"] == 0
        if how == "prompt":
            assert prompts == ["Vault password: "]
    finally:
        vault.configure()
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
            assert SECRET.encode() not in path.read_bytes(), path


def test_inline_vault_values_need_the_password_too(work: dict[str, Path], tmp_path: Path) -> None:
    """A value encrypted with ansible-vault encrypt_string: refused without the password, read with it."""
    os.environ.pop(vault.ENV, None)
    site = tmp_path / "inline"
    shutil.copytree(PROJECT_ROOT / "inventories" / "local", site)
    encrypted = subprocess.run(
        [
            str(BIN / "ansible-vault"),
            "encrypt_string",
            "--vault-password-file",
            str(work["password"]),
            "--name",
            "site_name",
            NAME,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (site / "group_vars" / "all" / "vault.yml").write_text("---\n" + encrypted)
    try:
        vault.configure()
        with pytest.raises(SiteError, match=NO_PASSWORD) as refused:
            load_site(str(site))
        assert str(site / "group_vars" / "all" / "vault.yml") in str(refused.value)
        vault.configure([work["wrong"]])
        with pytest.raises(SiteError, match="does not decrypt"):
            load_site(str(site))
        vault.configure([work["password"]])
        assert load_site(str(site)).name == NAME
    finally:
        vault.configure()


# Several vault ids, as a real site keeps them: the site's file under the label prod, the operators'
# file under ops, each with its own password (ansible-vault encrypt --vault-id LABEL@FILE).
LABELLED = "labelled"
OPS_SECRET = "ops-token-from-another-vault-93c1"


@pytest.fixture(scope="module")
def labelled(work: dict[str, Path]) -> dict[str, Path]:
    root = work["root"]
    site = root / "inventories" / LABELLED
    shutil.copytree(PROJECT_ROOT / "inventories" / "local", site)
    prod, ops = root / "prod-password", root / "ops-password"
    prod.write_text("prod-password-4e1d\n")
    ops.write_text("ops-password-8b27\n")
    site_file = site / "group_vars" / "all" / "vault.yml"
    site_file.write_text(yaml.safe_dump({"site_name": LABELLED, "vault_hub_oauth_client_secret": SECRET}))
    ops_file = site / "group_vars" / "all" / "vault_ops.yml"
    ops_file.write_text(yaml.safe_dump({"vault_ops_token": OPS_SECRET}))
    ansible_vault("encrypt", "--vault-id", f"prod@{prod}", str(site_file))
    ansible_vault("encrypt", "--vault-id", f"ops@{ops}", str(ops_file))
    assert site_file.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;prod")
    return {"site": site, "prod": prod, "ops": ops, "site_file": site_file, "ops_file": ops_file}


def labelled_runbook(
    work: dict[str, Path], labelled: dict[str, Path], args: list[str], **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "runbook"), *args, "--site", str(labelled["site"])],
        capture_output=True,
        text=True,
        env=environment(work, **env),
        stdin=subprocess.DEVNULL,
        cwd=work["root"],
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """A refusal: exit 2, nothing on stdout, one line on stderr (returned)."""
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_vault_ids_open_an_inventory_encrypted_under_labels(
    work: dict[str, Path], labelled: dict[str, Path]
) -> None:
    """--vault-id LABEL@FILE (repeatable), or ANSIBLE_VAULT_IDENTITY_LIST with paths relative to where
    the operator stands, as ansible-playbook takes them."""
    given = ["--vault-id", f"prod@{labelled['prod']}", "--vault-id", f"ops@{labelled['ops']}"]
    done = labelled_runbook(work, labelled, ["status", *given])
    assert done.returncode == 0 and f"site {LABELLED} (us-east-1)" in done.stdout, done.stdout + done.stderr
    # The hub's secrets file (site output, encrypted with the first site's password): a third vault id.
    hub = ["--vault-id", f"hub@{work['password']}"]
    dry_run = labelled_runbook(work, labelled, ["run", "rotate-secrets", *given, *hub])
    assert dry_run.returncode == 0 and "DRY RUN" in dry_run.stdout, dry_run.stdout + dry_run.stderr
    listed = labelled_runbook(
        work, labelled, ["cost"], **{vault.ENV_IDS: "prod@prod-password, ops@ops-password"}
    )
    assert listed.returncode == 0 and "total" in listed.stdout, listed.stdout + listed.stderr


def test_a_vault_id_missing_wrong_or_left_out_is_one_line(
    work: dict[str, Path], labelled: dict[str, Path]
) -> None:
    before = state(work)
    prod, ops = f"prod@{labelled['prod']}", f"ops@{labelled['ops']}"
    left_out = one_line(labelled_runbook(work, labelled, ["status", "--vault-id", prod]))
    assert (
        f"does not decrypt {labelled['ops_file']}" in left_out
        and f"vault id prod: {labelled['prod']}" in left_out
    )
    wrong = one_line(
        labelled_runbook(work, labelled, ["status", "--vault-id", f"prod@{work['wrong']}", "--vault-id", ops])
    )
    assert f"does not decrypt {labelled['site_file']}" in wrong
    unopened = labelled_runbook(
        work, labelled, ["run", "rotate-secrets", "--vault-id", prod, "--vault-id", ops]
    )
    assert unopened.returncode == 2 and unopened.stderr.count("\n") == 1, unopened.stdout + unopened.stderr
    hub_secrets = work["out"] / "hub-secrets.yml"
    assert f"{hub_secrets} does not decrypt with the vault passwords given" in unopened.stderr
    nowhere = work["root"] / "nowhere"
    missing = one_line(labelled_runbook(work, labelled, ["cost", "--vault-id", f"prod@{nowhere}"]))
    assert f"the vault password file {nowhere} does not exist" in missing
    assert state(work) == before


def test_rotate_secrets_writes_the_file_back_under_its_own_vault_id(
    work: dict[str, Path], labelled: dict[str, Path], tmp_path: Path
) -> None:
    """The hub's secrets file was encrypted under the label hub: after the rotation it still is, with
    the hub password, although prod's password was given first (ansible-vault edit keeps it so)."""
    out = tmp_path / "site-output"
    out.mkdir()
    hub_secrets = out / "hub-secrets.yml"
    hub_secrets.write_text("jupyterhub_cookie_secret: before\n")
    ansible_vault("encrypt", "--vault-id", f"hub@{work['password']}", str(hub_secrets))
    given = ["--vault-id", f"prod@{labelled['prod']}", "--vault-id", f"ops@{labelled['ops']}"]
    done = labelled_runbook(
        work,
        labelled,
        ["run", "rotate-secrets", "--apply", "--yes", *given, "--vault-id", f"hub@{work['password']}"],
        SITE_OUTPUT_DIR=str(out),
    )
    assert done.returncode == 0 and "(vault-encrypted)" in done.stdout, done.stdout + done.stderr
    assert hub_secrets.read_text().splitlines()[0] == "$ANSIBLE_VAULT;1.2;AES256;hub"
    plain = subprocess.run(
        [str(BIN / "ansible-vault"), "view", "--vault-id", f"hub@{work['password']}", str(hub_secrets)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert yaml.safe_load(plain)["jupyterhub_cookie_secret"] != "before"


@pytest.mark.parametrize("value", ["prod@", "@prod-password", "pr;od@prod-password", "two words@file", ""])
def test_a_malformed_vault_id_is_refused_naming_the_argument(
    work: dict[str, Path], labelled: dict[str, Path], value: str
) -> None:
    """Before the site is read: the argument named, with the forms it accepts; in the list as well."""
    line = one_line(labelled_runbook(work, labelled, ["status", "--vault-id", value]))
    assert line.startswith(
        f"runbook: --vault-id {value!r} is not a vault id: expected LABEL@FILE, LABEL@prompt"
    )
    if value:
        listed = one_line(
            labelled_runbook(work, labelled, ["cost"], **{vault.ENV_IDS: f"ops@ops-password,{value}"})
        )
        assert f"{vault.ENV_IDS} {value!r} is not a vault id" in listed


def test_playbooks_of_a_procedure_get_the_vault_ids(
    work: dict[str, Path], labelled: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ansible-playbook gets each vault id: the list's (made absolute: it runs elsewhere) and the
    command line's, a labelled prompt answered at its own prompt with what was typed once."""
    monkeypatch.setenv("EMULATOR_STATE_DIR", str(work["emulator"]))
    monkeypatch.setenv("SITE_OUTPUT_DIR", str(work["out"]))
    monkeypatch.delenv(vault.ENV, raising=False)
    monkeypatch.chdir(work["root"])
    monkeypatch.setenv(vault.ENV_IDS, "prod@prod-password")
    monkeypatch.setattr(vault, "_can_prompt", lambda: True)
    prompts: list[str] = []
    monkeypatch.setattr(
        vault.getpass, "getpass", lambda prompt: prompts.append(prompt) or labelled["ops"].read_text().strip()
    )
    try:
        vault.configure(None, ids=["ops@prompt"])
        site = load_site(str(labelled["site"]))
        assert prompts == ["Vault password (ops): "]
        playbook = tmp_path / "uses-both-vaults.yml"
        that = [f"site_name == '{LABELLED}'", f"vault_ops_token == '{OPS_SECRET}'"]
        playbook.write_text(
            yaml.safe_dump(
                [
                    {
                        "hosts": "localhost",
                        "gather_facts": False,
                        "tasks": [{"ansible.builtin.assert": {"that": that, "quiet": True}}],
                    }
                ]
            )
        )
        run_dir = tmp_path / "run"
        ctx = Context(site=site, procedure="test", params={}, apply=True, run_id="test", run_dir=run_dir)
        assert run_playbook(ctx, str(playbook))["failed"] == 0
        assert prompts == ["Vault password (ops): "]  # once, at the runbook's prompt
    finally:
        vault.configure()
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert b"ops-password-8b27" not in path.read_bytes(), path
            assert OPS_SECRET.encode() not in path.read_bytes(), path
