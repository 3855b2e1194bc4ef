"""``python -m machines build|start|stop|status|destroy|ssh NAME``: local systemd hosts for the kit.

A machine is a Debian bookworm tree booted with systemd-nspawn on this host, sharing its network;
its sshd listens on a free 127.0.0.1 port with a generated key. See docs/hosts.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from machines import rootfs
from machines.machine import Bind, Machine, default_state_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m machines", description=__doc__)
    parser.add_argument("command", choices=["build", "start", "stop", "status", "destroy", "ssh", "tree"])
    parser.add_argument("name", nargs="?", default="hub", help="machine name (default: %(default)s)")
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="default: $MACHINES_STATE_DIR or ./.machines"
    )
    parser.add_argument(
        "--bind",
        action="append",
        default=None,
        metavar="SOURCE:/TARGET[:ro]",
        help="start: bind-mount a host directory (created when missing); repeatable; remembered",
    )
    parser.add_argument(
        "--port",
        action="append",
        default=None,
        metavar="NAME",
        help="build/start: also allocate a free loopback port under this name (config.json ports)",
    )
    args, command = parser.parse_known_args(argv)
    if command and args.command != "ssh":
        parser.error(f"unrecognized arguments: {' '.join(command)}")
    machine = Machine(args.name, (args.state_dir or default_state_dir()).resolve())
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    try:
        if args.command == "tree":
            print(rootfs.build(log=log))
        elif args.command == "build":
            if not machine.build(ports=args.port, log=log):
                log(f"machines: {machine.name} already built in {machine.dir}")
        elif args.command == "start":
            binds = [Bind.parse(spec) for spec in args.bind] if args.bind is not None else None
            machine.start(binds=binds, ports=args.port, log=log)
        elif args.command == "stop":
            log(f"machines: {machine.name} " + ("stopped" if machine.stop(log=log) else "not running"))
        elif args.command == "destroy":
            machine.destroy(log=log)
            log(f"machines: {machine.name} destroyed")
        elif args.command == "ssh":
            if not machine.running():
                sys.exit(f"machines: {machine.name} is not running")
            os.execvp("ssh", machine.ssh_argv(*(command[1:] if command[:1] == ["--"] else command)))
        else:
            status = machine.status()
            print(json.dumps(status, indent=2))
            if status["state"] != "running":
                sys.exit(1)
    except (RuntimeError, ValueError, OSError) as error:
        sys.exit(f"machines: {error}")
