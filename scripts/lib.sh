# Shared by scripts/demo.sh, scripts/test.sh and .ci/run: install what is missing, say exactly what to do
# where it cannot. Source it; it defines functions only.

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

APT_UPDATED=0
apt_install() {
  is_root || die "missing system packages: $*. Install them with: sudo apt-get update && sudo apt-get install -y $*"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

node_version_ok() {
  command -v node >/dev/null || die "Node.js 20 or newer is required (https://nodejs.org or: apt-get install nodejs npm)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js 20 or newer is required (found $(node --version))"
}

ensure_node_modules() {
  node_version_ok
  local stamp=node_modules/.install-stamp
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    say "installing npm dependencies (npm ci)"
    ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
    touch "$stamp"
  fi
}

# ffmpeg decodes the camera streams; GStreamer's RTSP server serves the simulated cameras.
ensure_media_packages() {
  local missing=()
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  if ! /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer' 2>/dev/null; then
    missing+=(python3-gi python3-gst-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
  fi
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

redis_answers() {
  local url=${REDIS_URL:-redis://127.0.0.1:6379}
  node -e '
    const u = new URL(process.argv[1]);
    const s = require("net").connect(+u.port || 6379, u.hostname);
    s.setTimeout(1500);
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => process.exit(String(d).startsWith("+PONG") || String(d).startsWith("-NOAUTH") ? 0 : 1));
    s.on("error", () => process.exit(1)); s.on("timeout", () => process.exit(1));
  ' "$url"
}

# Starts a local Redis when none answers (installing Debian's package as root), else says what to run.
ensure_redis() {
  redis_answers && return 0
  local url=${REDIS_URL:-redis://127.0.0.1:6379}
  case "$url" in
    redis://127.0.0.1:*|redis://localhost:*) ;;
    *) die "Redis at $url does not answer; start it or set REDIS_URL" ;;
  esac
  command -v redis-server >/dev/null || apt_install redis-server
  local port
  port=$(node -p "new URL('$url').port || 6379")
  mkdir -p "${DATA_DIR:-./data}/redis"
  say "starting redis-server on 127.0.0.1:$port"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$(cd "${DATA_DIR:-./data}/redis" && pwd)" --logfile "$(cd "${DATA_DIR:-./data}/redis" && pwd)/redis.log" \
    || die "could not start redis-server; run: redis-server --daemonize yes --bind 127.0.0.1 --port $port --save '' --appendonly no"
  for _ in $(seq 1 50); do redis_answers && return 0; sleep 0.1; done
  die "redis-server did not answer after starting; see ${DATA_DIR:-./data}/redis/redis.log"
}

pg_answers() { pg_isready -q -h "${1:-127.0.0.1}" -p "${2:-5432}" 2>/dev/null; }

# The test suite needs a real PostgreSQL server (the demo embeds one instead).
ensure_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then return 0; fi
  if command -v pg_isready >/dev/null && pg_answers; then return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  say "starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
  for _ in $(seq 1 50); do pg_answers && break; sleep 0.2; done
  pg_answers || die "PostgreSQL does not answer on 127.0.0.1:5432; run: pg_ctlcluster --skip-systemctl-redirect $ver main start"
  # A fresh Debian cluster trusts no one over TCP: give the current user a superuser role it can reach.
  if ! psql -h 127.0.0.1 -U "$(id -un)" -d postgres -c 'select 1' >/dev/null 2>&1; then
    is_root || die "cannot connect to PostgreSQL as $(id -un); set TEST_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/postgres"
    su postgres -c "psql -qc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$(id -un)') THEN CREATE ROLE \\\"$(id -un)\\\" SUPERUSER LOGIN PASSWORD 'phatnguoi-test'; ELSE ALTER ROLE \\\"$(id -un)\\\" PASSWORD 'phatnguoi-test'; END IF; END \\\$\\\$\"" \
      || die "could not create a PostgreSQL role for $(id -un)"
    export TEST_DATABASE_URL="postgres://$(id -un):phatnguoi-test@127.0.0.1:5432/postgres"
  fi
}

ensure_models() {
  say "checking models (npm run models:build)"
  npx tsx models/build.ts || die "model build failed"
}
