"""Names of the Prefect flows and deployments, shared by the flows, the services and the CLI.

They live here, not in ``flows/``, so the library can name a deployment
without importing the flow code (``dvkn_pipeline`` never imports ``flows``).
Entrypoints are paths relative to the directory that holds ``flows/``.
"""

from __future__ import annotations

INTAKE_FLOW = "process-uploads"
INTAKE = f"{INTAKE_FLOW}/on-upload"
RECONCILE = f"{INTAKE_FLOW}/reconcile"
DEADLINES = "check-deadlines/daily"
NAIVE = "process-one-upload/naive"

INTAKE_ENTRYPOINT = "flows/process_uploads.py:process_uploads"
NAIVE_ENTRYPOINT = "flows/process_uploads.py:process_one_upload"
DEADLINE_ENTRYPOINT = "flows/deadline_check.py:check_deadlines"
PUBLISH_COMPLETENESS_ENTRYPOINT = "flows/completeness_artifact.py:publish_completeness"
