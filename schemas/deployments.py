"""Names of the Prefect flows and deployments, shared by the flows, the services and the CLI.

They live here, not in ``flows/``, so the library can name a deployment
without importing the flow code (``dvkn_pipeline`` never imports ``flows``).
Entrypoints are paths relative to the directory that holds ``flows/``.
"""

from __future__ import annotations

# Flow names (``@flow(name=...)``) and deployment names; Prefect addresses a
# deployment as "<flow>/<deployment>".
INTAKE_FLOW = "process-uploads"
NAIVE_FLOW = "process-one-upload"
DEADLINES_FLOW = "check-deadlines"
PUBLISH_COMPLETENESS_FLOW = "publish-completeness"

INTAKE_DEPLOYMENT = "on-upload"
RECONCILE_DEPLOYMENT = "reconcile"
DEADLINES_DEPLOYMENT = "daily"
NAIVE_DEPLOYMENT = "naive"
NAIVE_SERVE_DEPLOYMENT = "naive-served"

INTAKE = f"{INTAKE_FLOW}/{INTAKE_DEPLOYMENT}"
RECONCILE = f"{INTAKE_FLOW}/{RECONCILE_DEPLOYMENT}"

INTAKE_ENTRYPOINT = "flows/process_uploads.py:process_uploads"
NAIVE_ENTRYPOINT = "flows/process_uploads.py:process_one_upload"
DEADLINE_ENTRYPOINT = "flows/deadline_check.py:check_deadlines"
PUBLISH_COMPLETENESS_ENTRYPOINT = "flows/completeness_artifact.py:publish_completeness"
