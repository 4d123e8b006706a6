"""``python -m dvkn_pipeline``: the ``dvkn`` command without its console script.

Supervised services are started this way (``local_stack`` recognises its own
processes by their command line, and a console script's process shows the
interpreter instead). ``python -m dvkn_pipeline.cli.app`` would import the CLI twice.
"""

from dvkn_pipeline.cli.app import app

app(prog_name="dvkn")
