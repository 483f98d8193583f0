#!/usr/bin/env bash
# Everything CI checks, in order: lint, format, types, layering, then the tests.
# GPU tests (marker `gpu`) are skipped here; run them on a GPU machine with `pytest -m gpu`.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
echo "== ruff"; ruff check --no-cache trtgui tests bench packaging tools
echo "== ruff format"; ruff format --no-cache --check trtgui tests bench packaging tools
echo "== mypy (strict)"; mypy trtgui
echo "== import-linter"; lint-imports
echo "== pytest"; python -m pytest -m "not gpu" -p no:cacheprovider "$@"
