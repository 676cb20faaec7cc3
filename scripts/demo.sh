#!/usr/bin/env bash
# One command: install, build the demo city on SQLite, serve it at http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/zhijian demo "$@"
