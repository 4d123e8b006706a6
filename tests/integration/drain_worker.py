"""A bare intake worker for fault tests: drain pending uploads in small batches.

Run as ``python -m tests.integration.drain_worker BUCKET [BATCH]`` with the
DVKN_* settings in the environment. It goes through the same library calls as
the Prefect flow (pending, process, refresh), so a SIGKILL can land anywhere a
real worker can die: mid-fetch, between receipts and the ledger commit, in a
Delta commit or a roll-up refresh.
"""

from __future__ import annotations

import sys

from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings


def main() -> None:
    bucket = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    intake = build_intake(Settings().model_copy(update={"bucket": bucket}))
    periods: set[str] = set(intake.stale_periods())  # a killed worker's unfinished refresh
    while True:
        pending = intake.pending()
        if not pending:
            break
        for start in range(0, len(pending), batch):
            periods |= intake.process(pending[start : start + batch]).periods
    intake.refresh(periods)


if __name__ == "__main__":
    main()
