#!/usr/bin/env bash
# `npm run test:e2e`: the browser journeys (tests/e2e) in headless Chromium against a real API, PostgreSQL
# and Redis, with a simulated RTSP camera and the real ingest process. Installs what is missing (Debian's
# chromium as root, playwright-core from npm); what cannot be installed is named and its journeys skip.
# Screenshots of each journey's end state go to out/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_node_modules
ensure_postgres
ensure_redis
ensure_models
# In subshells: a machine where they cannot be installed still runs the journeys that do not need them.
(ensure_media_packages) || say "ffmpeg or GStreamer's RTSP server missing: the operator journey will be skipped"

if [ -z "${E2E_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  (apt_install chromium) || say "no Chromium and it cannot be installed here: the browser journeys will be skipped"
fi
if ! node -e 'import("playwright-core").catch(() => process.exit(1))'; then
  say "installing playwright-core (npm; it downloads no browser)"
  npm install --no-save --no-audit --no-fund --loglevel=error playwright-core ||
    say "playwright-core cannot be installed: the browser journeys will be skipped"
fi

mkdir -p out/e2e
say "browser journeys (screenshots in out/e2e/)"
PN_E2E=1 npx vitest run --project e2e "$@"
