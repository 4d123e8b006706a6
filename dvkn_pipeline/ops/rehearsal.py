"""A rehearsal of the production topology (infra/compose.yaml), natively, on loopback.

There is no container engine here, so compose.yaml cannot be run. What can be
proved without one is proved by running its services' own commands with
their own environment (``dvkn_pipeline.ops.compose_local`` turns addresses, ports
and paths into local ones, and nothing else):

* PostgreSQL (a throw-away cluster, ``dvkn_pipeline.ops.pg_cluster``) with the
  user, password and database the ``postgres`` service gets;
* the ``prefect-server`` command with compose's
  ``PREFECT_API_DATABASE_CONNECTION_URL``: Prefect 3.8.8 migrating and
  serving on Postgres through asyncpg under our SQLAlchemy pin, its scheduler
  and its event triggers;
* SeaweedFS standing in for MinIO (the S3 API, a versioned bucket);
* the one-shot ``access-plan`` and ``deploy`` commands, the ``webhook``
  receiver and N replicas of ``worker``;
* recorded MinIO notifications (``tests/fixtures/minio``) made true: each
  announced object is really written to the store (PUT, multipart, in-place
  copy), the recording is given the bucket, ETag, size and version id of that
  object and POSTed to the receiver with MinIO's bearer token, as MinIO would.

End to end it checks: one Prefect event per upload (a resend stored once),
the event-triggered deployment run on a worker, every upload in the ledger
with its uploader and receipt, and roll-ups equal to the sums of the reports.
What it cannot prove (MinIO itself, the mc policies, queue_dir, the images)
is listed in infra/REHEARSAL.md and in every report.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from pydantic import SecretStr

from dvkn_pipeline.ops import local_env, local_stack, pg_cluster, processes
from dvkn_pipeline.ops.compose_local import ComposeService, Topology, load_services, localize
from dvkn_pipeline.ops.generator import SyntheticReport
from dvkn_pipeline.ops.minio_recordings import Delivery, StagedUpload, stage_recordings
from dvkn_pipeline.ops.resources import project_file, project_root
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import HierarchyCatalog, load_hierarchies
from dvkn_pipeline.reference.keys import receipt_key
from schemas.catalogue import Aggregation
from schemas.records import EVENT_UPLOADED
from schemas.settings import LOCAL_PORTS, Settings

COMPOSE_FILE = project_file("infra/compose.yaml")
RECORDINGS = project_file("tests/fixtures/minio")
#: Inherited variables no container would have: the host's settings must not leak in.
_FOREIGN_PREFIXES = ("PREFECT_", "DVKN_", "AWS_", "PG")

NOT_PROVED = (
    "MinIO itself: SeaweedFS serves the S3 API here; MinIO's notification sender "
    "(its HEAD probe, retries, the event body it really builds) is stood in for by recordings",
    "the mc policies and per-unit users (infra/minio/init.sh, `dvkn infra users` output is "
    "only generated): no credential is refused anything here, principals come from the recordings",
    "queue_dir durability: nothing is queued or resent by MinIO across a receiver or Prefect outage",
    "the container images (infra/Dockerfile, prefecthq/prefect, postgres:16-alpine, minio/mc), "
    "compose's depends_on/healthchecks, networking and volumes",
    "PostgreSQL 16: the rehearsal runs the PostgreSQL installed here",
)


class RehearsalError(DvknError, RuntimeError):
    """A step failed; the report says which and why."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    #: What the rehearsal changed from compose to run here (beyond addresses and paths).
    deviations: list[str] = field(default_factory=list)
    not_proved: tuple[str, ...] = NOT_PROVED
    workdir: str = ""
    kept: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["not_proved"] = list(self.not_proved)
        return out


# -- the rehearsal ---------------------------------------------------------------------------


def _foreign_env() -> tuple[str, ...]:
    return tuple(k for k in os.environ if k.startswith(_FOREIGN_PREFIXES))


class _Run:
    """Steps that record a Check each; the first failure ends the rehearsal."""

    def __init__(self, report: Report, say: Callable[[str], None]) -> None:
        self.report = report
        self.say = say

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        detail: list[str] = []
        started = time.monotonic()
        self.say(f"… {name}")
        try:
            yield detail
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            self.report.checks.append(
                Check(name, False, "; ".join([*detail, text]), time.monotonic() - started)
            )
            raise RehearsalError(f"{name}: {text}") from exc
        self.report.checks.append(Check(name, True, "; ".join(detail), time.monotonic() - started))


def _together(*steps: Callable[[], object]) -> None:
    """Run independent steps at once (compose starts services without a depends_on
    between them in parallel too); the first failure is raised once all have ended."""
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
    for future in futures:
        future.result()


def _run_once(
    name: str, argv: list[str], env: dict[str, str], root: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """A one-shot compose service (``restart: "no"``); its output goes to logs/<name>.log."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)} | env
    done = subprocess.run(
        argv,
        cwd=project_root(),
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    log = root / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise RehearsalError(f"{name} exited with {done.returncode}:\n{tail}")
    return done


def rehearse(
    workers: int = 2,
    timeout: float = 240.0,
    workdir: Path | None = None,
    keep: bool = False,
    compose_file: Path = COMPOSE_FILE,
    recordings: Path = RECORDINGS,
    say: Callable[[str], None] = lambda _: None,
) -> Report:
    """Run the rehearsal; every service is stopped at the end, the work directory removed
    unless ``keep`` or a step failed (its logs are then under ``<workdir>/logs``)."""
    started = time.monotonic()
    report = Report()
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="dvkn-rehearsal-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o711)  # the PostgreSQL user must reach its own directory inside
    report.workdir = str(root)
    run = _Run(report, say)
    try:
        _rehearse(run, root, workers, timeout, compose_file, recordings)
    except RehearsalError:
        pass
    finally:
        # Clients first, then the Prefect server, then what it and they stored into.
        for names in (
            ["webhook", *(f"worker-{i}" for i in range(workers))],
            ["prefect-server"],
            ["postgres", "seaweedfs"],
        ):
            _together(*(partial(processes.stop_service, name, root) for name in names))
        report.seconds = time.monotonic() - started
        report.kept = keep or not report.ok
        if not report.kept:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _rehearse(
    run: _Run, root: Path, workers: int, timeout: float, compose_file: Path, recordings: Path
) -> None:
    report = run.report
    base = local_env.find_free_port_block()
    secret = secrets.token_urlsafe(24)
    ports = {
        "minio": (9000, base + LOCAL_PORTS["s3"]),
        "prefect-server": (4200, base + LOCAL_PORTS["prefect"]),
        "postgres": (5432, base + LOCAL_PORTS["rehearsal-postgres"]),
        "webhook": (8088, base + LOCAL_PORTS["rehearsal-webhook"]),
    }
    topo = Topology(ports=ports, root=root)
    variables = {
        "DVKN_S3_ACCESS_KEY": "dvkn-rehearsal",
        "DVKN_S3_SECRET_KEY": secret,
        "POSTGRES_PASSWORD": secrets.token_urlsafe(18),
        "DVKN_WEBHOOK_TOKEN": secrets.token_urlsafe(24),
        "MINIO_ROOT_USER": "rehearsal-root",
        "MINIO_ROOT_PASSWORD": secrets.token_urlsafe(18),
        "WORKERS": str(workers),
        # The console and its proxy are not rehearsed (no Caddy here); their variables
        # only have to be present for compose's interpolation.
        "CONSOLE_DOMAIN": "console.localhost",
        "S3_DOMAIN": "s3.localhost",
        "DVKN_CONSOLE_SECRET_KEY": secrets.token_urlsafe(48),
    }
    foreign = _foreign_env()

    def env_for(service: ComposeService, instance: str) -> tuple[list[str], dict[str, str]]:
        argv, env = localize(service, topo, instance)
        if "PREFECT_HOME" not in env:  # a container's own home, not this machine's profiles
            env["PREFECT_HOME"] = str(topo.service_dir(instance) / "prefect-home")
        return argv, env

    with run.step("compose.yaml read") as d:
        services = load_services(compose_file, variables)
        image = services["prefect-server"].image or ""
        pinned = metadata.version("prefect")
        if not image.rpartition(":")[2].startswith(f"{pinned}-"):
            raise RehearsalError(f"prefect-server runs {image}, but prefect=={pinned} is installed")
        app_env = services["deploy"].environment
        d.append(f"{len(services)} services; server image {image} = installed Prefect")
        d.append(f"bucket {app_env['DVKN_BUCKET']}, pool {app_env['DVKN_WORK_POOL']}")

    settings = local_env.local_settings(
        root / "seaweedfs-state",
        base,
        bucket=app_env["DVKN_BUCKET"],
        root_unit=app_env["DVKN_ROOT_UNIT"],
        work_pool=app_env["DVKN_WORK_POOL"],
        s3_access_key=variables["DVKN_S3_ACCESS_KEY"],
        s3_secret_key=SecretStr(secret),
    )
    api_url = local_env.prefect_api_url(settings)

    cluster_box: list[pg_cluster.Cluster] = []
    server_home: list[Path] = []

    def object_store() -> None:
        with run.step("object store (SeaweedFS for MinIO), versioned bucket") as d:
            processes.start_service(local_stack.object_store_spec(settings), root)
            local_stack.ensure_bucket(settings)
            d.append(f"{settings.s3_endpoint_url} bucket {settings.bucket}")

    def access_plan() -> None:
        with run.step("access-plan: dvkn infra users") as d:
            argv, env = env_for(services["access-plan"], "access-plan")
            _run_once("access-plan", argv, env, root, timeout=300)
            out = topo.volume_dir(services["access-plan"].volumes.get("/access", "access"))
            if not (out / "apply.sh").exists():
                raise RehearsalError(f"no apply.sh in {out}")
            d.append(f"{len(list((out / 'policies').glob('*.json')))} policies, apply.sh")

    def postgres() -> None:
        with run.step("PostgreSQL") as d:
            pg_env = services["postgres"].environment
            cluster = pg_cluster.init_cluster(
                root / "postgres",
                ports["postgres"][1],
                pg_env["POSTGRES_USER"],
                pg_env["POSTGRES_PASSWORD"],
                pg_env["POSTGRES_DB"],
            )
            cluster_box.append(cluster)
            processes.start_service(pg_cluster.server_spec(cluster), root)
            pg_cluster.create_database(cluster)
            version = pg_cluster.server_version(cluster)
            image = services["postgres"].image or "postgres"
            d.append(f"PostgreSQL {version} on 127.0.0.1:{cluster.port}")
            if version.split(".")[0] != image.rpartition(":")[2].split(".")[0].split("-")[0]:
                report.deviations.append(f"PostgreSQL {version} here; compose runs {image}")

    def prefect_server() -> None:
        with run.step("Prefect server on PostgreSQL") as d:
            [cluster] = cluster_box
            argv, env = env_for(services["prefect-server"], "prefect-server")
            leases = "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE"
            embedded = local_stack.prefect_server_spec(settings).env[leases]
            if env.get(leases) != embedded:
                raise RehearsalError(
                    f"compose's prefect-server keeps concurrency leases in {env.get(leases)}, "
                    f"the embedded stack in {embedded}: a restart would strand held slots"
                )
            url = env.get("PREFECT_API_DATABASE_CONNECTION_URL", "")
            if not url.startswith("postgresql+asyncpg://"):
                raise RehearsalError("compose's prefect-server sets no postgresql+asyncpg:// URL")
            processes.start_service(
                processes.ServiceSpec(
                    "prefect-server",
                    argv,
                    env,
                    cwd=root,
                    ready=processes.http_ok(f"{api_url}/health"),
                    timeout=300,
                    ports=(ports["prefect-server"][1],),
                    unset_env=foreign,
                ),
                root,
            )
            revision = pg_cluster.query(cluster, "select version_num from alembic_version")
            tables = pg_cluster.query(
                cluster,
                "select count(*) from information_schema.tables where table_schema = 'public'",
            )
            sqlite = sorted(str(p) for p in Path(env["PREFECT_HOME"]).rglob("*.db"))
            if sqlite:
                raise RehearsalError(f"the server also made SQLite files: {sqlite}")
            d.append(f"migrated to {revision}; {tables} tables in database {cluster.database}")
            server_home.append(Path(env["PREFECT_HOME"]))

    def storage_side() -> None:
        object_store()
        access_plan()

    def orchestration_side() -> None:
        postgres()
        prefect_server()

    _together(storage_side, orchestration_side)

    def deploy() -> None:
        with run.step("deploy: dvkn deploy") as d:
            argv, env = env_for(services["deploy"], "deploy")
            _run_once("deploy", argv, env, root, timeout=300)
            d.append(_deployments(api_url, settings, workers))

    def worker(i: int) -> Callable[[], None]:
        def start() -> None:
            argv, env = env_for(services["worker"], f"worker-{i}")
            extra = {"PREFECT_WORKER_QUERY_SECONDS": "1", "DVKN_DRAIN_IDLE_SECONDS": "3"}
            processes.start_service(
                processes.ServiceSpec(
                    f"worker-{i}",
                    argv,
                    env | extra,
                    ready=local_stack.workers_ready(api_url, settings.work_pool, count=i + 1),
                    timeout=240,
                    unset_env=foreign,
                ),
                root,
            )

        return start

    def workers_up() -> None:
        with run.step(f"{workers} workers: warm workers") as d:
            _together(*(worker(i) for i in range(workers)))
            report.deviations.append(
                "workers poll every 1 s (PREFECT_WORKER_QUERY_SECONDS, default 10) and a run "
                "stops after 3 idle s (DVKN_DRAIN_IDLE_SECONDS, default 10): timing only"
            )
            d.append(f"{workers} workers polling pool {settings.work_pool}")

    def webhook() -> None:
        with run.step("webhook: dvkn webhook serve") as d:
            argv, env = env_for(services["webhook"], "webhook")
            port = ports["webhook"][1]
            processes.start_service(
                processes.ServiceSpec(
                    "webhook",
                    argv,
                    env,
                    ready=processes.http_ok(f"http://127.0.0.1:{port}/healthz"),
                    timeout=240,
                    ports=(port,),
                    unset_env=foreign,
                ),
                root,
            )
            d.append(f"http://127.0.0.1:{port}/minio/events")

    # Compose starts workers after deploy; here all three at once (a worker creates the
    # pool if it is missing, deploy tolerates one that exists), to save a minute.
    _together(deploy, workers_up, webhook)

    catalogue, hierarchies = load_catalogue(), load_hierarchies()
    from dvkn_pipeline.services.wiring import build_intake

    intake = build_intake(settings)
    with run.step("uploads in S3 as the recordings say") as d:
        deliveries, staged = stage_recordings(
            recordings, intake.bucket.client, settings, catalogue, hierarchies
        )
        kinds = sorted({k for k in _kinds(deliveries)})
        d.append(f"{len(staged)} uploads from {len(deliveries)} recordings ({', '.join(kinds)})")

    with run.step("MinIO notifications POSTed to the receiver") as d:
        token = variables["DVKN_WEBHOOK_TOKEN"]
        target = f"http://127.0.0.1:{ports['webhook'][1]}/minio/events"
        posted = 0
        resend = deliveries[0]
        for delivery in [*deliveries, resend]:  # the first once more: MinIO resending
            resp = httpx.post(
                target,
                json=delivery.body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            if resp.status_code != 200:
                raise RehearsalError(f"{delivery.name}: {resp.status_code} {resp.text[:300]}")
            announced = resp.json()["announced"]
            if announced != delivery.announces:
                raise RehearsalError(f"{delivery.name}: announced {announced}")
            posted += 1
        wrong = httpx.post(target, json=resend.body, headers={"Authorization": "Bearer x"})
        if wrong.status_code != 401:
            raise RehearsalError(f"a wrong token got {wrong.status_code}")
        d.append(f"{posted} POSTs answered 200 (one a resend), a wrong token 401")

    uploads: dict[str, StagedUpload] = {}
    for up in staged:  # an in-place copy of the same bytes is the same upload: first one counts
        uploads.setdefault(up.upload_id, up)
    with run.step("Prefect events (stored in PostgreSQL)") as d:
        counts = _upload_events(api_url, settings.bucket, set(uploads), timeout=60)
        extra = {k: n for k, n in counts.items() if n != 1}
        if set(counts) != set(uploads) or extra:
            raise RehearsalError(f"events per upload {counts}, expected one each of {set(uploads)}")
        d.append(f"{len(counts)} dvkn.report.uploaded events, one per upload (resend deduplicated)")

    with run.step("ledger: every upload judged, by its uploader") as d:
        from dvkn_pipeline.ops.demo import wait_for_ledger

        ledger = wait_for_ledger(intake.tables, list(uploads), timeout)
        rows = {r["upload_id"]: r for r in ledger.iter_rows(named=True)}
        seen: set[str] = set()
        problems = []
        for uid, up in uploads.items():
            want = "duplicate" if up.sha256 in seen else "accepted"
            seen.add(up.sha256)
            row = rows[uid]
            if row["status"] != want or (up.uploader and row["uploader"] != up.uploader):
                problems.append(f"{up.key}: {row['status']} by {row['uploader']}")
        if problems:
            raise RehearsalError("; ".join(problems))
        statuses = ledger["status"].value_counts().sort("status").rows()
        d.append(", ".join(f"{n} {s}" for s, n in statuses))

    with run.step("receipts beside every upload") as d:
        for up in uploads.values():
            key = receipt_key(up.key, settings.incoming_prefix, settings.receipts_prefix)
            receipt = intake.bucket.get_json(key)
            if receipt is None:
                raise RehearsalError(f"no receipt for {up.key}")
            if receipt["status"] != rows[up.upload_id]["status"]:
                raise RehearsalError(f"{key} says {receipt['status']}")
        d.append(f"{len(uploads)} receipts agree with the ledger")

    with run.step("roll-ups equal the reports' sums") as d:
        d.append(_check_rollups(intake, uploads, hierarchies, settings, timeout))

    with run.step("intake runs: event trigger → worker → Completed") as d:
        d.append(_intake_runs(api_url, timeout=90))
        if not (server_home[0] / "concurrency_leases").is_dir():
            raise RehearsalError("the server kept no concurrency lease on disk")
        d.append("their concurrency leases kept on disk")

    with run.step("scheduler: reconcile sweep has runs") as d:
        d.append(_scheduled_runs(api_url, timeout=60))


def _kinds(deliveries: list[Delivery]) -> Iterator[str]:
    for delivery in deliveries:
        for record in delivery.body["Records"]:
            yield str(record["eventName"]).removeprefix("s3:")


@contextlib.contextmanager
def _client(api_url: str) -> Iterator[Any]:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        yield client


def _deployments(api_url: str, settings: Settings, workers: int) -> str:
    from schemas.deployments import INTAKE, RECONCILE

    with _client(api_url) as client:
        intake = client.read_deployment_by_name(INTAKE)
        reconcile = client.read_deployment_by_name(RECONCILE)
    if intake.work_pool_name != settings.work_pool:
        raise RehearsalError(f"{INTAKE} is on pool {intake.work_pool_name}")
    limit = intake.global_concurrency_limit.limit if intake.global_concurrency_limit else None
    if limit != workers:
        raise RehearsalError(f"{INTAKE} may run {limit} at once, compose scales to {workers}")
    if not reconcile.schedules:
        raise RehearsalError(f"{RECONCILE} has no schedule")
    return f"{INTAKE} (limit {limit}) and {RECONCILE} on pool {settings.work_pool}"


def _upload_events(api_url: str, bucket: str, wanted: set[str], timeout: float) -> dict[str, int]:
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    event_filter = EventFilter(
        event=EventNameFilter(name=[EVENT_UPLOADED]),
        resource=EventResourceFilter(id_prefix=[f"dvkn.upload.{bucket}/"]),
    )
    deadline = time.monotonic() + timeout
    with _client(api_url) as client:
        while True:
            events = client.read_events(filter=event_filter, limit=50).events
            counts: dict[str, int] = {}
            for e in events:
                uid = f"{e.resource['dvkn.key']}#{e.resource['dvkn.etag']}"
                counts[uid] = counts.get(uid, 0) + 1
            if set(counts) >= wanted or time.monotonic() > deadline:
                return counts
            time.sleep(0.5)


def _check_rollups(
    intake: Any,
    uploads: Mapping[str, StagedUpload],
    hierarchies: HierarchyCatalog,
    settings: Settings,
    timeout: float,
) -> str:
    from dvkn_pipeline.ops.demo import wait_for_rollup

    live: dict[tuple[str, str], SyntheticReport] = {}
    for up in uploads.values():
        live.setdefault((up.report.unit.code, up.report.period.code), up.report)
    # The catalogue's headline figures that are plain sums: each must equal its reports' sum.
    summed = [i.code for i in load_catalogue().headline if i.aggregation is Aggregation.SUM]
    checked = 0
    for period in sorted({p for _, p in live}):
        reports = [r for (_, p), r in live.items() if p == period]
        wait_for_rollup(intake.tables, period, settings.root_unit, len(reports), timeout)
        table = intake.tables.read_rollup(period)
        hierarchy = hierarchies.for_date(reports[0].period.reference_date)
        lineage = {
            r.unit.code: {r.unit.code, *(a.code for a in hierarchy.ancestors(r.unit.code))}
            for r in reports
        }
        for unit in sorted(set().union(*lineage.values())):
            for indicator in summed:
                want = sum(r.value(indicator) for r in reports if unit in lineage[r.unit.code])
                got = table.filter(
                    (pl.col("unit_code") == unit) & (pl.col("indicator") == indicator)
                )["value"].sum()
                if abs(float(got) - want) > 1e-6:
                    raise RehearsalError(f"{period} {unit} {indicator}: {got} != {want}")
                checked += 1
    return f"{checked} figures over {len({p for _, p in live})} periods"


def _runs_of(client: Any, deployment: str) -> Callable[[], list[Any]]:
    """Reads the flow runs of ``deployment`` (looked up once) each time it is called."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    dep = client.read_deployment_by_name(deployment)
    by_id = DeploymentFilter(id=DeploymentFilterId(any_=[dep.id]))
    return lambda: list(client.read_flow_runs(deployment_filter=by_id))


def _intake_runs(api_url: str, timeout: float) -> str:
    from schemas.deployments import INTAKE

    deadline = time.monotonic() + timeout
    with _client(api_url) as client:
        read_runs = _runs_of(client, INTAKE)
        while True:
            runs = read_runs()
            states = [r.state_name for r in runs]
            bad = [s for s in states if s in ("Failed", "Crashed")]
            if bad:
                raise RehearsalError(f"intake runs {states}")
            final = runs and all(r.state and r.state.is_final() for r in runs)
            if final or time.monotonic() > deadline:
                break
            time.sleep(1)
    if not runs or not final:
        raise RehearsalError(f"intake runs not finished: {states}")
    triggered = [r for r in runs if r.created_by and r.created_by.type == "AUTOMATION"]
    if not triggered:
        raise RehearsalError("no intake run was started by the event trigger")
    return f"{len(runs)} run(s) {sorted(set(states))}, {len(triggered)} started by the trigger"


def _scheduled_runs(api_url: str, timeout: float) -> str:
    from schemas.deployments import RECONCILE

    deadline = time.monotonic() + timeout
    with _client(api_url) as client:
        read_runs = _runs_of(client, RECONCILE)
        while True:
            runs = read_runs()
            if runs or time.monotonic() > deadline:
                break
            time.sleep(1)
    if not runs:
        raise RehearsalError(f"the scheduler made no {RECONCILE} run in {timeout:.0f}s")
    return f"{len(runs)} {RECONCILE} run(s) scheduled"
