"""``python -m dvkn_pipeline.console``: serve the web console (see ``serve.py``)."""

from dvkn_pipeline.console.serve import main

main()
