"""A throw-away PostgreSQL cluster on loopback, for rehearsing Prefect on Postgres.

``initdb`` into a directory of its own, password (SCRAM) authentication as in
production, TCP on 127.0.0.1 only and the unix socket inside that directory,
run through ``processes.start_service``. PostgreSQL refuses to run as root,
so under root the cluster belongs to the ``postgres`` user (else ``nobody``).
Durability is switched off (``fsync=off``): the cluster lives minutes and is
deleted after.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from dvkn_pipeline.ops.processes import ServiceSpec, StackError

_SERVER_PROGRAMS = ("initdb", "postgres")


class PostgresMissingError(StackError):
    """The PostgreSQL server programs are not installed."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``: PATH first, then Debian's layout."""
    found = [shutil.which(p) for p in _SERVER_PROGRAMS]
    if all(found):
        dirs = {Path(str(f)).resolve().parent for f in found}
        if len(dirs) == 1:
            return dirs.pop()
    candidates = sorted(
        (d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").exists()),
        key=_version_key,
        reverse=True,
    )
    for d in candidates:
        if all(os.access(d / p, os.X_OK) for p in _SERVER_PROGRAMS):
            return d
    raise PostgresMissingError(
        "PostgreSQL server programs (initdb, postgres) not found on PATH nor under "
        "/usr/lib/postgresql/*/bin: install PostgreSQL (e.g. apt-get install postgresql) "
        "to rehearse Prefect on Postgres"
    )


def run_as_user() -> str | None:
    """Who runs the cluster: None (this user) unless this is root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise StackError("running as root and neither a 'postgres' nor a 'nobody' user exists")


@dataclass(frozen=True)
class Cluster:
    directory: Path
    port: int
    user: str
    password: str
    database: str
    bindir: Path
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, driver: str = "postgresql+asyncpg", database: str | None = None) -> str:
        """Connection URL on 127.0.0.1 (holds the password: pass it on, never print it)."""
        return (
            f"{driver}://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/{database or self.database}"
        )


def _give(path: Path, run_as: str | None) -> None:
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init_cluster(
    directory: Path, port: int, user: str, password: str, database: str, timeout: float = 120
) -> Cluster:
    """``initdb`` a new cluster in ``directory`` (created; its parents must be traversable)."""
    bindir = find_bindir()
    run_as = run_as_user()
    directory.mkdir(mode=0o700, parents=True)
    _give(directory, run_as)
    pwfile = directory / "pwfile"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    _give(pwfile, run_as)
    cluster = Cluster(directory, port, user, password, database, bindir, run_as)
    argv = [
        str(bindir / "initdb"),
        f"--pgdata={cluster.data}",
        f"--username={user}",
        f"--pwfile={pwfile}",
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--no-locale",
        "--no-sync",
    ]
    done = subprocess.run(
        argv,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        user=run_as,
        group=pwd.getpwnam(run_as).pw_gid if run_as else None,
        extra_groups=[] if run_as else None,
    )
    pwfile.unlink()
    if done.returncode != 0:
        raise StackError(f"initdb failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return cluster


def server_spec(cluster: Cluster, name: str = "postgres") -> ServiceSpec:
    """The postmaster: TCP on 127.0.0.1 only, its socket in the cluster's directory."""
    argv = [
        str(cluster.bindir / "postgres"),
        "-D",
        str(cluster.data),
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port),
        "-k",
        str(cluster.directory),
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
    ]
    return ServiceSpec(
        name,
        argv,
        cwd=cluster.directory,
        ready=lambda: query(cluster, "select 1", "postgres") == 1,
        timeout=60,
        ports=(cluster.port,),
        user=cluster.run_as,
        unset_env=tuple(k for k in os.environ if k.startswith("PG")),
        leftovers=(cluster.directory / f".s.PGSQL.{cluster.port}",),
    )


def query(cluster: Cluster, sql: str, database: str | None = None) -> object:
    """The first value ``sql`` returns, over TCP with the cluster's password."""
    import asyncpg

    async def run() -> object:
        conn = await asyncpg.connect(cluster.url("postgresql", database), timeout=5)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def create_database(cluster: Cluster) -> None:
    """What the postgres image does with POSTGRES_DB on first start."""
    quoted = '"' + cluster.database.replace('"', '""') + '"'
    query(cluster, f"create database {quoted}", "postgres")


def server_version(cluster: Cluster) -> str:
    return str(query(cluster, "show server_version", "postgres"))
