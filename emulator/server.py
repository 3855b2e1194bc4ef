"""The emulator process: moto's server application with the fidelity layer installed first."""

from __future__ import annotations

import argparse
from pathlib import Path

from werkzeug.serving import run_simple

from emulator import fidelity


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    fidelity.install(
        time_scale=args.time_scale, state_dir=args.state_dir, endpoint=f"http://{args.host}:{args.port}"
    )

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    app = fidelity.wrap_app(DomainDispatcherApplication(create_backend_app))
    run_simple(
        args.host, args.port, app, threaded=True, use_reloader=False, request_handler=MotoRequestHandler
    )


if __name__ == "__main__":
    main()
