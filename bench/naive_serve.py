"""The naive baseline served with ``flow.serve``: one flow run per uploaded file.

``flow.serve`` is Prefect's lightest way to run a deployment: no work pool or
worker, one long-lived process that polls for its runs and starts each in a
new Python process. The benchmark starts this module as a service beside the
naive deployment's process workers, so both shapes of "one run per file" are
measured on the same quiet stack before the burst (``bench/burst.py``).

    python -m bench.naive_serve LIMIT     # environment: the stack's PREFECT_API_URL, DVKN_*
"""

from __future__ import annotations

import sys

from dvkn_pipeline.services.orchestration import naive_trigger
from flows.process_uploads import process_one_upload
from schemas.deployments import NAIVE_SERVE_DEPLOYMENT
from schemas.settings import Settings


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    process_one_upload.serve(
        name=NAIVE_SERVE_DEPLOYMENT,
        triggers=[naive_trigger(Settings())],
        limit=limit,
        print_starting_message=False,
    )


if __name__ == "__main__":
    main()
