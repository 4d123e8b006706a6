# Task entry point: `make check` runs what CI runs, plus lint and types.
.PHONY: test lint types check demo

test:
	uv run pytest

lint:
	uv run ruff check .
	uv run ruff format --check .

types:
	uv run mypy

check: lint types test

demo:
	uv run dvkn demo
