"""The web console: a commune's portal and the stewards' pages, server-rendered (FastAPI + Jinja2)."""
