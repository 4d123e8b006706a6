"""Which modules a fresh interpreter loads for one import, as a long-lived process would."""

from __future__ import annotations

import subprocess
import sys

from dvkn_pipeline.ops.resources import project_root


def loaded_by(module: str, candidates: list[str]) -> list[str]:
    """Those of ``candidates`` in ``sys.modules`` after ``import module`` in a new process
    started where the stack starts its services (the project root)."""
    code = f"import sys, {module}\nprint(','.join(m for m in {candidates!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=project_root(),
    ).stdout.strip()
    return out.split(",") if out else []
