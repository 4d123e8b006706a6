"""Server time of the commune portal's pages at Hanoi scale. Not a unit test.

    uv run python -m bench.console_pages [--periods 8] [--repeat 20]

Builds a ledger with one accepted upload for every reporting unit of Hanoi in
each of the last ``--periods`` quarters (a rejected first try for one unit in
ten), puts it behind the console over in-memory tables (``tests/console_support.py``,
so the store's latency is left out: reading the ledger from Delta is the
tables' own cost), logs in as a commune and times each page's request through
the whole app (session, scope check, views, template). Prints the median and
worst of ``--repeat`` requests per page; the issue's target is 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import polars as pl

from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.storage.tables import ledger_polars_schema
from dvkn_pipeline.views.portal import reporting_periods
from tests.fakes import MemoryTables
from tests.unit.test_export import ledger_row


def hanoi_ledger(periods: int, today: date) -> tuple[pl.DataFrame, str]:
    catalogue = load_catalogue()
    hierarchies = load_hierarchies()
    rows = []
    commune = ""
    for p in reporting_periods(today, ["quarter"], periods):
        h = hierarchies.for_date(p.reference_date).scope("01")
        at = datetime.combine(p.deadline("commune"), datetime.min.time(), UTC) - timedelta(days=1)
        units = [u for lvl in h.levels if catalogue.reported_by(lvl) for u in h.units_at(lvl)]
        for i, u in enumerate(units):
            if i % 10 == 0:
                rows.append(ledger_row(u.code, "rejected", at, p, n=1))
            rows.append(ledger_row(u.code, "accepted", at + timedelta(hours=1), p, n=2))
        commune = commune or units[-1].code
    return pl.DataFrame(rows, schema=ledger_polars_schema()), commune


def main() -> None:
    from tests.console_support import csrf_of, make_console

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    today = date.today()
    ledger, commune = hanoi_ledger(args.periods, today)
    client, context, _ = make_console()
    tables = context.portal.intake.tables
    assert isinstance(tables, MemoryTables)
    tables.ledger = ledger  # the in-memory tables' raw rows
    from dvkn_pipeline.services.accounts import add_account

    add_account(
        context.accounts,
        load_hierarchies().versions,
        username="bench",
        role="commune",
        scope=commune,
        password="bench-password",
    )
    token = csrf_of(client)
    client.post(
        "/login", data={"username": "bench", "password": "bench-password", "csrf_token": token}
    )
    period = reporting_periods(today, ["quarter"], 1)[0].code
    pages = {
        "periods": f"/commune/{commune}",
        "period": f"/commune/{commune}/{period}",
        "receipt (waiting)": f"/commune/{commune}/{period}/receipt?key=incoming/{commune}/{period}/2.csv",
        "template.xlsx": f"/commune/{commune}/{period}/template.xlsx",
    }
    print(f"ledger: {ledger.height} uploads, {args.periods} quarters, commune {commune}")
    for name, url in pages.items():
        assert client.get(url).status_code == 200, url
        took = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            client.get(url)
            took.append((time.perf_counter() - t0) * 1000)
        print(f"{name:<18} median {statistics.median(took):6.1f} ms   worst {max(took):6.1f} ms")


if __name__ == "__main__":
    main()
