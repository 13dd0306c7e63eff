#!/usr/bin/env bash
# `npm run demo`: simulated cameras → ingest → detector → rules → evidence → PostgreSQL → API and UI.
# Installs what is missing (npm packages; ffmpeg, GStreamer and Redis from Debian when run as root), then
# runs everything until Ctrl-C. Without DATABASE_URL the database is embedded (PGlite under ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_node_modules
if [ "${DEMO_INSTALL:-true}" != "false" ]; then
  ensure_media_packages
  ensure_redis
fi
ensure_models
exec npx tsx apps/demo.ts
