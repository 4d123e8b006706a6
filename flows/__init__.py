"""Prefect flows and deployments: orchestration only, no business rules."""
