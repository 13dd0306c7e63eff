#!/usr/bin/env bash
# `npm test`: installs what is missing, makes sure PostgreSQL and Redis answer, builds the models, then runs
# lint and the whole vitest suite (unit + integration against the real services).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_node_modules
ensure_media_packages
ensure_postgres
ensure_redis
ensure_models

say "lint (tsc, eslint, prettier, madge)"
npm run --silent lint
say "tests"
npx vitest run "$@"
