#!/usr/bin/env bash
# Smoke test of the container image's *contents* without a Docker engine: rebuilds the runtime
# stage's file layout in a temporary directory the way the Dockerfile does (production
# dependencies only from `npm ci --omit=dev`, plus each workspace's package.json, dist/ and
# bin/), then starts the API and a runner from it as an unprivileged user against the local
# Redis and checks their health, readiness and metrics endpoints and their exit on SIGTERM.
#
# It catches what static checks cannot: a runtime import of a devDependency, a missing compiled
# file, an entry path that does not start, a process that ignores SIGTERM.
#
# Needs: `npm run build` done, Redis on REDIS_URL (default redis://127.0.0.1:6379), curl, and the
# npm registry (or a warm npm cache) for `npm ci`. Uses its own Redis key prefix and random ports.
# Usage: bash deploy/docker/smoke-layout.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
WORK="$(mktemp -d /tmp/lichen-image-smoke.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "smoke-layout: $*"; }
fail() {
  echo "smoke-layout: FAIL $*" >&2
  for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }; done
  exit 1
}

cd "$ROOT"
for app in apps/api/dist/api/src/main.js apps/runner/dist/main.js apps/cli/dist/main.js; do
  [ -f "$app" ] || fail "$app is missing: run \`npm run build\` first"
done

APP="$WORK/app"
mkdir -p "$APP"
# Stage "deps": manifests, then production dependencies only.
cp package.json package-lock.json "$APP/"
workspaces=()
for ws in libs/* apps/*; do
  [ -f "$ws/package.json" ] || continue
  workspaces+=("$ws")
  mkdir -p "$APP/$ws"
  cp "$ws/package.json" "$APP/$ws/"
done
say "npm ci --omit=dev (${#workspaces[@]} workspaces)"
(cd "$APP" && SCARF_ANALYTICS=false npm ci --omit=dev --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1) ||
  fail "npm ci --omit=dev"
# Stage "build" output: each workspace's dist/ and bin/, without tsbuildinfo files.
for ws in "${workspaces[@]}"; do
  cp -R "$ws/dist" "$APP/$ws/dist"
  if [ -d "$ws/bin" ]; then cp -R "$ws/bin" "$APP/$ws/bin"; fi
done
find "$APP" -path "$APP/node_modules" -prune -o -name '*.tsbuildinfo' -exec rm -f {} +
for dev in typescript vitest tsx eslint; do
  [ ! -e "$APP/node_modules/$dev" ] || fail "devDependency $dev is in the production node_modules"
done
say "layout ready: $(du -sh "$APP" | cut -f1) in $APP"

# Run as an unprivileged user (the image uses uid 1000); the app files stay read-only to it.
STATE="$WORK/state"
mkdir -p "$STATE"
chmod 755 "$WORK"
RUN_AS=()
if [ "$(id -u)" = "0" ] && command -v setpriv >/dev/null 2>&1; then
  chown -R 65534:65534 "$STATE"
  RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  say "processes run as uid 65534"
fi

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
API_PORT="$(free_port)"
METRICS_PORT="$(free_port)"
PREFIX="lichen-smoke-$$"
ENTRY="$ROOT/deploy/docker/entrypoint.sh"

# The real entry point, with its `cd /app` pointed at the staged layout.
sed "s#^cd /app\$#cd \"$APP\"#" "$ENTRY" >"$WORK/entrypoint.sh"
grep -q "^cd \"$APP\"\$" "$WORK/entrypoint.sh" || fail "entrypoint.sh no longer has a 'cd /app' line"
chmod 755 "$WORK/entrypoint.sh"

start() { # name (= the entry point's command)
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$STATE" NODE_ENV=production \
    REDIS_URL="$REDIS_URL" LICHEN_REDIS_PREFIX="$PREFIX" LICHEN_API_HOST=127.0.0.1 LICHEN_API_PORT="$API_PORT" \
    LICHEN_RUNNER_METRICS_PORT="$METRICS_PORT" LICHEN_RUNNER_CONCURRENCY=1 LICHEN_SHUTDOWN_GRACE_MS=5000 \
    LICHEN_IMAGE_DIR="$STATE/images" LICHEN_IMAGE_CACHE_DIR="$STATE/cache" LICHEN_ARTIFACT_DIR="$STATE/artifacts" \
    LOG_LEVEL=warn "${RUN_AS[@]}" sh "$WORK/entrypoint.sh" "$1" >"$WORK/$1.log" 2>&1 &
  PIDS+=("$!")
}

wait_http() { # url, expected status, seconds
  local code=""
  for _ in $(seq 1 $(($3 * 4))); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)"
    [ "$code" = "$2" ] && return 0
    sleep 0.25
  done
  fail "$1 answered ${code:-nothing}, expected $2"
}

stop_and_wait() { # pid, name, seconds
  kill -TERM "$1" 2>/dev/null || fail "$2 is not running"
  for _ in $(seq 1 $(($3 * 4))); do
    if ! kill -0 "$1" 2>/dev/null; then
      local status=0
      wait "$1" || status=$?
      # NestJS runs its shutdown hooks on SIGTERM, then re-raises the signal: 143 = 128 + SIGTERM.
      [ "$status" = 0 ] || [ "$status" = 143 ] || fail "$2 exited with status $status after SIGTERM"
      return 0
    fi
    sleep 0.25
  done
  fail "$2 still running $3 s after SIGTERM"
}

start api
API_PID="${PIDS[-1]}"
wait_http "http://127.0.0.1:$API_PORT/healthz" 200 60
wait_http "http://127.0.0.1:$API_PORT/readyz" 200 30
curl -sf "http://127.0.0.1:$API_PORT/metrics" | grep -q '^lichen_' || fail "API /metrics has no lichen_ series"
say "api: /healthz, /readyz and /metrics answer"

start runner
RUNNER_PID="${PIDS[-1]}"
wait_http "http://127.0.0.1:$METRICS_PORT/healthz" 200 60
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | grep -q '^lichen_' || fail "runner /metrics has no lichen_ series"
say "runner: /healthz and /metrics answer"

stop_and_wait "$RUNNER_PID" runner 20
stop_and_wait "$API_PID" api 20
say "both exit cleanly on SIGTERM"

# Remove this run's keys from Redis.
if command -v redis-cli >/dev/null 2>&1; then
  redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX:*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null || true
fi
say "PASS"
