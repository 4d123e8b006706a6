"""infra/compose.yaml read as the production truth and turned into local processes. Pure.

The rehearsal (``dvkn_pipeline.ops.rehearsal``) runs the compose services' own
commands with their own environment, so a drift between compose and the code
shows as a failure rather than in production. What has to change to run them
natively on one machine is done here, by rule, and nothing else:

* ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` are interpolated as
  Compose does, from variables the caller provides (a missing required one
  fails with compose's own message);
* a service address ``<service>:<port>`` (``minio:9000``, ``postgres:5432``)
  becomes ``127.0.0.1:<local port>``, a service's own listening port becomes
  its local port, and ``0.0.0.0`` becomes ``127.0.0.1`` (loopback only);
* an absolute container path goes to a directory of the rehearsal: under a
  named volume's mount, to that volume's directory; otherwise to the
  service's own directory (each container has its own file system);
* the programs ``dvkn`` and ``prefect`` run from this interpreter.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from dvkn_pipeline.reference.errors import DvknError

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
_LOOPBACK = "127.0.0.1"
#: How a compose program runs here: this interpreter, by module (``local_stack`` recognises
#: its processes by command line, which a console script would hide behind the interpreter).
PROGRAMS: dict[str, list[str]] = {
    "dvkn": [sys.executable, "-m", "dvkn_pipeline"],
    "prefect": [sys.executable, "-m", "prefect"],
    # The image's Python is this environment's (the warm workers, the console).
    "python": [sys.executable],
}


class ComposeError(DvknError, ValueError):
    """compose.yaml cannot be run as written (a missing variable, an unknown program...)."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's variable interpolation (``$$`` is a literal ``$``)."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        value = variables.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset else str(value)
        if op in (":?", "?"):
            if unset:
                raise ComposeError(f"${{{name}}}: {arg or 'required variable is not set'}")
            return str(value)
        if value is None:
            raise ComposeError(f"${{{name}}} is not set (compose would substitute an empty string)")
        return value

    return _VAR.sub(one, text)


@dataclass(frozen=True)
class ComposeService:
    """One service of compose.yaml, interpolated; anchors and ``<<`` merges resolved."""

    name: str
    image: str | None
    command: list[str]
    environment: dict[str, str]
    #: Container path -> named volume (bind mounts are left out: nothing to rehearse there).
    volumes: dict[str, str] = field(default_factory=dict)


def _interp(value: Any, variables: Mapping[str, str]) -> str:
    return interpolate(str(value), variables)


def load_services(path: Path, variables: Mapping[str, str]) -> dict[str, ComposeService]:
    """Every service of a compose file, with ``variables`` as the ``.env`` it is started with."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    named = set((data.get("volumes") or {}).keys())
    out: dict[str, ComposeService] = {}
    for name, spec in (data.get("services") or {}).items():
        environment = spec.get("environment") or {}
        if isinstance(environment, list):  # ["KEY=value", ...]
            environment = dict(item.split("=", 1) for item in environment)
        volumes: dict[str, str] = {}
        for mount in spec.get("volumes") or []:
            source, _, target = str(mount).partition(":")
            if source in named:
                volumes[target.split(":")[0]] = source
        command = spec.get("command") or []
        out[name] = ComposeService(
            name=name,
            image=_interp(spec["image"], variables) if spec.get("image") else None,
            command=[_interp(a, variables) for a in (command if isinstance(command, list) else [])],
            environment={k: _interp(v, variables) for k, v in environment.items()},
            volumes=volumes,
        )
    return out


@dataclass(frozen=True)
class Topology:
    """Where each compose service listens here, and where container paths go."""

    #: service -> (port inside compose, port on 127.0.0.1 here)
    ports: Mapping[str, tuple[int, int]]
    root: Path

    def volume_dir(self, volume: str) -> Path:
        return self.root / "volumes" / volume

    def service_dir(self, service: str) -> Path:
        return self.root / "services" / service


def _addresses(value: str, topo: Topology) -> str:
    for service, (inside, local) in topo.ports.items():
        value = re.sub(
            rf"(?<![\w.-]){re.escape(service)}:{inside}(?!\d)", f"{_LOOPBACK}:{local}", value
        )
    return value


def _path(value: str, service: ComposeService, topo: Topology, instance: str) -> str:
    if not value.startswith("/") or value.startswith("//"):
        return value
    path = PurePosixPath(value)
    for target, volume in service.volumes.items():
        mount = PurePosixPath(target)
        if path == mount or mount in path.parents:
            return str(topo.volume_dir(volume) / path.relative_to(mount))
    return str(topo.service_dir(instance) / path.relative_to("/"))


def _value(
    value: str, service: ComposeService, topo: Topology, instance: str, own: str | None
) -> str:
    if own is not None and value == own:
        return str(topo.ports[service.name][1])
    value = _addresses(value.replace("0.0.0.0", _LOOPBACK), topo)
    return _path(value, service, topo, instance)


def localize(
    service: ComposeService, topo: Topology, instance: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """The service's command and environment as they run here (see the module's rules).

    ``instance`` names one replica (``worker-1``): each gets its own directory.
    """
    instance = instance or service.name
    if not service.command:
        raise ComposeError(f"service {service.name!r} has no command to run")
    program, *args = service.command
    if program not in PROGRAMS:
        raise ComposeError(f"service {service.name!r} runs {program!r}, which cannot run here")
    own = str(topo.ports[service.name][0]) if service.name in topo.ports else None
    argv = [*PROGRAMS[program]]
    previous = ""
    for arg in args:
        argv.append(_value(arg, service, topo, instance, own if previous == "--port" else None))
        previous = arg
    env = {
        k: _value(v, service, topo, instance, own if k.endswith("_PORT") else None)
        for k, v in service.environment.items()
    }
    return argv, env
