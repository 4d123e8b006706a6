"""Files the operations need beyond the code: the production compose file, MinIO's
policy templates, the recorded MinIO notifications, and the directory processes run in.

In a checkout they are read where they are maintained (``infra/``, ``tests/fixtures/``);
an installed wheel carries copies under ``dvkn_pipeline/ops/shipped/`` (see
``[tool.hatch.build.targets.wheel.force-include]`` in ``pyproject.toml``), so
``pip install .`` gives a ``dvkn`` that works outside the checkout.
"""

from __future__ import annotations

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]
_SHIPPED = Path(__file__).resolve().parent / "shipped"


def in_checkout() -> bool:
    """Whether this code runs from a source checkout (``pyproject.toml`` beside the package)."""
    return (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "infra").is_dir()


def project_file(relative: str) -> Path:
    """A project file by its path in the checkout (``infra/compose.yaml``), wherever it lives."""
    if in_checkout():
        return _CHECKOUT / relative
    shipped = _SHIPPED / relative
    if not shipped.exists():
        raise FileNotFoundError(f"{relative} is neither in a checkout nor shipped with the package")
    return shipped


def project_root() -> Path:
    """Where services run: the checkout, or the installed packages' directory.

    Prefect workers load flows by entrypoint relative to the directory that
    holds ``flows/``; both places hold it.
    """
    return _CHECKOUT
