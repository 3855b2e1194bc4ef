"""A real node's route to the emulated AWS: a TCP forwarder from the node's address to the emulator.

On AWS a pod reaches AWS's public endpoints (S3 through the VPC's gateway endpoint, the rest through
the NAT gateway) at their public addresses. Here the emulator listens on loopback only, which a pod
(on its node's bridge, in its own network namespace) cannot reach: each real node runs this forwarder
on its gateway address (the node's IP, what the downward API's ``status.hostIP`` gives a pod) at the
emulator's port, relaying every connection to the emulator. It knows nothing of HTTP or AWS.

Run as ``python -m emulator.kube.aws_route --listen ADDRESS:PORT --to ADDRESS:PORT --node-dir DIR``
(the node directory only marks the process as the node's, for ``stop_pid``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import time
from pathlib import Path
from typing import Any

START_TIMEOUT = 10.0
CHUNK = 64 * 1024


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # a half-close passes through (an HTTP client may send its request so)
    except (ConnectionError, OSError):
        writer.close()


async def _relay(
    target: tuple[str, int], client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()  # the emulator is down: the client sees the connection close
        return
    try:
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
    finally:
        for writer in (client_writer, upstream_writer):
            with contextlib.suppress(OSError):
                writer.close()


async def serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    """Relay connections to ``listen`` to ``target`` until SIGTERM or SIGINT."""
    server = await asyncio.start_server(lambda r, w: _relay(target, r, w), *listen)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print(f"relaying {listen[0]}:{listen[1]} to {target[0]}:{target[1]}", flush=True)
    await stop.wait()
    server.close()  # open connections are dropped as the loop ends: nothing waits on a client


def listening(address: tuple[str, int]) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(address, timeout=1):
        return True
    return False


def wait_listening(address: tuple[str, int], process_exited: Any, timeout: float = START_TIMEOUT) -> bool:
    """Whether ``address`` accepts connections within ``timeout``; False at once if the process ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(address):
            return True
        if process_exited():
            return False
        time.sleep(0.05)
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator.kube.aws_route", description=__doc__)
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT (the node's gateway address)")
    parser.add_argument("--to", required=True, help="ADDRESS:PORT (the emulator)")
    parser.add_argument("--node-dir", type=Path, required=True, help="the node's directory (a marker)")
    args = parser.parse_args(argv)
    asyncio.run(serve(_address(args.listen), _address(args.to)))


if __name__ == "__main__":
    main()
