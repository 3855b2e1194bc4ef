"""The procedures: one module each, registered here by name.

Each module has NAME, SUMMARY (one line), WHEN (when to use it), PARAMS (name -> Param) and
``steps(ctx) -> list[Step]``. Arguments come after the procedure's name on the command line:
``--name value``, ``--flag``, or positionally for the params marked positional.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from runbooks.engine import Refused


@dataclass(frozen=True)
class Param:
    help: str
    required: bool = False
    flag: bool = False
    positional: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None


def registry() -> dict[str, ModuleType]:
    from runbooks.procedures import (
        cost_cap,
        rebuild_cluster,
        rebuild_hub_host,
        replace_node_group,
        restore_filesystem,
        restore_hub_database,
        restore_user_home,
        rotate_secrets,
    )

    modules = (
        restore_user_home,
        restore_filesystem,
        rebuild_cluster,
        rebuild_hub_host,
        replace_node_group,
        restore_hub_database,
        rotate_secrets,
        cost_cap,
    )
    return {module.NAME: module for module in modules}


def get(name: str) -> ModuleType:
    procedures = registry()
    if name not in procedures:
        raise Refused(f"unknown procedure {name!r}: known procedures are {', '.join(procedures)}")
    return procedures[name]


def parse_args(module: ModuleType, args: list[str]) -> dict[str, Any]:
    """``--name value`` / ``--flag`` / positionals into a dict; Refused naming what is wrong."""
    params: dict[str, Param] = module.PARAMS
    values: dict[str, Any] = {name: (False if p.flag else p.default) for name, p in params.items()}
    positionals = [name for name, p in params.items() if p.positional]
    rest = list(args)
    while rest:
        token = rest.pop(0)
        if token.startswith("--"):
            key, _, inline = token[2:].partition("=")
            if key not in params:
                raise Refused(
                    f"{module.NAME}: unknown argument --{key}; it takes "
                    + ", ".join(f"--{n}" for n in params)
                )
            if params[key].flag:
                values[key] = True
                continue
            if not inline:
                if not rest:
                    raise Refused(f"{module.NAME}: --{key} needs a value")
                inline = rest.pop(0)
            values[key] = inline
        elif positionals:
            values[positionals.pop(0)] = token
        else:
            raise Refused(f"{module.NAME}: unexpected argument {token!r}")
    for name, param in params.items():
        if param.required and values.get(name) in (None, ""):
            raise Refused(f"{module.NAME}: --{name} is required ({param.help})")
        if param.choices and values.get(name) not in param.choices:
            raise Refused(
                f"{module.NAME}: {name} must be one of {', '.join(param.choices)}, not {values.get(name)!r}"
            )
    return values


USER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}$")
