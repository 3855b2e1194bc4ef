"""One local machine: a copy of the cached tree booted with systemd-nspawn, reached over SSH.

State lives in ``<state_dir>/<name>/``:

| file | what |
|---|---|
| `rootfs/` | the machine's own copy of the cached tree (cp -a --reflink=auto) |
| `config.json` | name, allocated ports (`ssh`, and the extra ones asked for), bind mounts |
| `ssh_port`, `id_ed25519`, `known_hosts` | what Ansible reads to log in as root |
| `pid`, `console.log` | the running systemd-nspawn process and the boot console |
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from machines import rootfs

BOOT_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


def default_state_dir() -> Path:
    return Path(os.environ.get("MACHINES_STATE_DIR", ".machines")).resolve()


def free_port(taken: set[int] | None = None) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not taken or port not in taken:
            return port


@dataclass
class Bind:
    source: Path
    target: str
    read_only: bool = False

    @classmethod
    def parse(cls, spec: str) -> Bind:
        """``SOURCE:TARGET`` or ``SOURCE:TARGET:ro``; SOURCE is created when missing."""
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith("/"):
            raise ValueError(f"bind {spec!r}: expected SOURCE:/TARGET[:ro]")
        if len(parts) == 3 and parts[2] != "ro":
            raise ValueError(f"bind {spec!r}: the only option is ro")
        return cls(Path(parts[0]).resolve(), parts[1], len(parts) == 3)

    def argument(self) -> str:
        return f"--bind{'-ro' if self.read_only else ''}={self.source}:{self.target}"

    def to_json(self) -> str:
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")


@dataclass
class Machine:
    name: str
    state_dir: Path = field(default_factory=default_state_dir)

    @property
    def dir(self) -> Path:
        return self.state_dir / self.name

    @property
    def root(self) -> Path:
        return self.dir / "rootfs"

    @property
    def key(self) -> Path:
        return self.dir / "id_ed25519"

    def config(self) -> dict:
        return json.loads((self.dir / "config.json").read_text())

    def _write_config(self, config: dict) -> None:
        tmp = self.dir / "config.json.tmp"
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.dir / "config.json")

    # -- build -------------------------------------------------------------------------------

    def built(self) -> bool:
        return (self.dir / "config.json").exists() and self.root.is_dir()

    def build(self, ports: list[str] | None = None, log=print) -> bool:
        """Give the machine its copy of the tree, keys and ports; False if it was already built."""
        if self.built():
            return False
        tree = rootfs.build(log=log)
        self.dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)
        work = self.dir / "rootfs.tmp"
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(tree), str(work)], check=True)
        (work / ".complete").unlink(missing_ok=True)
        allocated: dict[str, int] = {}
        for port_name in ["ssh", *(ports or [])]:
            allocated[port_name] = free_port(set(allocated.values()))
        self._personalise(work, allocated["ssh"])
        os.rename(work, self.root)
        (self.dir / "ssh_port").write_text(f"{allocated['ssh']}\n")
        self._write_config({"name": self.name, "ports": allocated, "binds": [], "tree": tree.name})
        log(f"machines: {self.name} built in {self.dir} (ssh port {allocated['ssh']})")
        return True

    def _personalise(self, tree: Path, ssh_port: int) -> None:
        if not self.key.exists():
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    f"machines-{self.name}",
                    "-f",
                    str(self.key),
                ],
                check=True,
            )
        host_key = tree / "etc" / "ssh" / "ssh_host_ed25519_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{self.name}", "-f", str(host_key)],
            check=True,
        )
        host_pub = (host_key.with_suffix(".pub")).read_text().split()
        (self.dir / "known_hosts").write_text(f"[127.0.0.1]:{ssh_port} {host_pub[0]} {host_pub[1]}\n")
        ssh = tree / "root" / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        (ssh / "authorized_keys").write_text(self.key.with_suffix(".pub").read_text())
        os.chmod(ssh / "authorized_keys", 0o600)
        (tree / "etc" / "ssh" / "sshd_config.d" / "machines.conf").write_text(
            "# Written by `python -m machines build`: loopback only, key login only.\n"
            f"Port {ssh_port}\n"
            "ListenAddress 127.0.0.1\n"
            "HostKey /etc/ssh/ssh_host_ed25519_key\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UseDNS no\n"
        )
        self._trust_host_cas(tree)
        (tree / "etc" / "hostname").write_text(f"{self.name}\n")
        (tree / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {self.name}\n::1 localhost\n")

    @staticmethod
    def _trust_host_cas(tree: Path) -> None:
        """Trust what the host trusts beyond Debian's bundle (a proxy's CA, a site's own CA).

        The machine shares the host's network, so it meets the same TLS interception; pip's and
        npm's own bundles are pointed at the system one, as a site's base image would do.
        """
        extra = sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))
        if not extra:
            return
        target = tree / "usr" / "local" / "share" / "ca-certificates"
        target.mkdir(parents=True, exist_ok=True)
        for cert in extra:
            shutil.copyfile(cert, target / cert.name)
        subprocess.run(
            ["chroot", str(tree), "update-ca-certificates"],
            check=True,
            stdout=subprocess.DEVNULL,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        bundle = "/etc/ssl/certs/ca-certificates.crt"
        (tree / "etc" / "pip.conf").write_text(f"[global]\ncert = {bundle}\n")
        (tree / "etc" / "npmrc").write_text(f"cafile={bundle}\n")
        environment = tree / "etc" / "environment"
        lines = environment.read_text().splitlines() if environment.exists() else []
        if f"NODE_EXTRA_CA_CERTS={bundle}" not in lines:
            environment.write_text("\n".join([*lines, f"NODE_EXTRA_CA_CERTS={bundle}"]) + "\n")

    # -- run ---------------------------------------------------------------------------------

    def pid(self) -> int | None:
        process = getattr(self, "_process", None)
        if process is not None:  # started by this process: no race with its exec
            return process.pid if process.poll() is None else None
        try:
            pid = int((self.dir / "pid").read_text())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return None
        if b"systemd-nspawn" not in cmdline or str(self.root).encode() not in cmdline:
            return None  # the pid was reused by something else
        try:  # a zombie we started ourselves
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        except ChildProcessError:
            pass
        return pid

    def running(self) -> bool:
        return self.pid() is not None

    def ssh_argv(self, *command: str) -> list[str]:
        return [
            "ssh",
            "-i",
            str(self.key),
            "-p",
            str(self.config()["ports"]["ssh"]),
            "-o",
            f"UserKnownHostsFile={self.dir / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "root@127.0.0.1",
            *command,
        ]

    def ssh_answers(self) -> bool:
        result = subprocess.run(
            self.ssh_argv("true"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        return result.returncode == 0

    def start(self, binds: list[Bind] | None = None, ports: list[str] | None = None, log=print) -> None:
        """Boot the machine (building it first when needed) and wait until SSH answers."""
        self.build(ports=ports, log=log)
        config = self.config()
        for port_name in ports or []:
            if port_name not in config["ports"]:
                config["ports"][port_name] = free_port(set(config["ports"].values()))
        if binds is not None:
            config["binds"] = [bind.to_json() for bind in binds]
        self._write_config(config)
        if self.running():
            if self.ssh_answers():
                log(f"machines: {self.name} already running (ssh port {config['ports']['ssh']})")
                return
        else:
            binds = [Bind.parse(spec) for spec in config["binds"]]
            for bind in binds:
                bind.source.mkdir(parents=True, exist_ok=True)
                (self.root / bind.target.lstrip("/")).mkdir(parents=True, exist_ok=True)
            argv = [
                "systemd-nspawn",
                "--register=no",
                "--keep-unit",
                "--boot",
                "--console=read-only",
                "--link-journal=no",
                "--timezone=off",
                f"--machine={self.name}",
                "-D",
                str(self.root),
                *(bind.argument() for bind in binds),
            ]
            with open(self.dir / "console.log", "wb") as console:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=console,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._process = process
            (self.dir / "pid").write_text(f"{process.pid}\n")
        started = time.monotonic()
        deadline = started + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running():
                tail = (self.dir / "console.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name}: systemd-nspawn exited during boot:\n{tail}")
            if self.ssh_answers():
                elapsed = time.monotonic() - started
                log(f"machines: {self.name} up in {elapsed:.1f} s (ssh port {config['ports']['ssh']})")
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"{self.name}: SSH did not answer within {BOOT_TIMEOUT:.0f} s (see {self.dir / 'console.log'})"
        )

    def stop(self, timeout: float = STOP_TIMEOUT, log=print) -> bool:
        """Power the machine off from inside; signal systemd-nspawn if that does not end it in time."""
        pid = self.pid()
        if pid is None:
            return False
        asked = subprocess.run(
            self.ssh_argv("systemctl", "--no-block", "poweroff"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=30,
        )
        # No SSH (a machine cleaned of its keys, as an image builder is): systemd-nspawn's SIGTERM asks the
        # container's init to power off, without waiting for a poweroff that was never asked.
        if asked.returncode != 0 or not self._wait_gone(timeout):
            log(f"machines: {self.name} did not power off (or SSH did not answer); sending SIGTERM")
            os.kill(pid, signal.SIGTERM)  # systemd-nspawn asks the container's init to power off
            if not self._wait_gone(15):
                log(f"machines: {self.name} still running; sending SIGKILL")
                os.killpg(pid, signal.SIGKILL)
                self._wait_gone(10)
        (self.dir / "pid").unlink(missing_ok=True)
        return True

    def _wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                return True
            time.sleep(0.3)
        return not self.running()

    def destroy(self, log=print) -> None:
        self.stop(log=log)
        shutil.rmtree(self.dir, ignore_errors=True)

    def status(self) -> dict:
        if not self.built():
            return {"name": self.name, "state": "absent"}
        config = self.config()
        state = "running" if self.running() else "stopped"
        return {"name": self.name, "state": state, "dir": str(self.dir), **config}
