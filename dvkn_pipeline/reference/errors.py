"""The one base of every error the pipeline raises about its users' input or its data.

A command can then catch ``DvknError`` and print its message, while a bug (a
bare ``KeyError`` or ``ValueError`` from a library) still shows as a bug.
Subclasses keep their historical built-in base too (``PeriodError`` is still a
``ValueError``), so callers that caught those go on working.
"""

from __future__ import annotations


class DvknError(Exception):
    """A problem a person can act on: bad input, missing data, a refused operation."""
