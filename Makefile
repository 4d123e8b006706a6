# Task entry point: `make check` runs what CI runs, plus lint and types.
.PHONY: test lint types check demo

# The README's test command: installs Chromium for the browser tests if missing, then pytest.
test:
	tests/run

lint:
	uv run ruff check .
	uv run ruff format --check .

types:
	uv run mypy

check: lint types test

demo:
	uv run dvkn demo
