#!/usr/bin/env bash
# One command: install, then run the whole suite on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --services
export PATH="$PWD/.venv/bin:$PATH"
PG_URL="${ZHIJIAN_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/zhijian}"
psql "${PG_URL%/*}/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname='zhijian'" | grep -q 1 \
  || psql "${PG_URL%/*}/postgres" -qc "CREATE DATABASE zhijian" >/dev/null

echo "==> import layers (lint-imports, contracts in .importlinter)"
lint-imports
echo "==> tests on SQLite"
ZHIJIAN_DATABASE_URL= python -m pytest -n 2 --dist loadfile -m "not e2e" "$@"
echo "==> tests on PostgreSQL"
ZHIJIAN_DATABASE_URL="$PG_URL" python -m pytest -n 2 --dist loadfile -m "not e2e" "$@"
echo "==> API contract (schemathesis)"
python scripts/api_contract.py
echo "==> browser tests (Playwright + Debian chromium, on SQLite)"
ZHIJIAN_DATABASE_URL= python -m pytest -m e2e -p no:xdist "$@"
