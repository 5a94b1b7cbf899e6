#!/usr/bin/env bash
# Installs the package with its test tools, checks style and runs the test suite.
source "$(dirname "$0")/_venv.sh" "test"
# PostgreSQL-backed tests run where a local server answers; they skip otherwise.
if [ -z "${AIGC_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null \
   && pg_isready -q -h 127.0.0.1 -p 5432; then
  export AIGC_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:5432/test"
fi
ruff format --check .
ruff check .
# the layer rules of ARCHITECTURE.md (.importlinter): imports point down, no circles
lint-imports
python -m pytest "$@"
