#!/usr/bin/env bash
# Lichen setup: installs what the repository needs on a Debian/Ubuntu machine, then installs
# the npm dependencies and builds everything. Idempotent: run it as often as you like; it
# only installs what is missing and says what it does.
#
#   bash scripts/setup.sh            # everything
#   LICHEN_SETUP_SKIP_REDIS=1 ...    # do not check for / install / start Redis
#   LICHEN_SETUP_SKIP_NPM=1 ...      # system packages only (no npm ci, no build)
#
# Needs: root (or password-less sudo) and apt-get, but only when a package is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SETUP_STARTED=$(date +%s)
step() { printf '\n==> [+%ss] %s\n' "$(($(date +%s) - SETUP_STARTED))" "$*"; }
info() { printf '    %s\n' "$*"; }
fail() {
  printf '\nsetup.sh: error: %s\n' "$*" >&2
  exit 1
}

# --- privileges -------------------------------------------------------------------------
SUDO=()
need_root() {
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    fail "$1 needs root: run 'sudo bash scripts/setup.sh' (or install it yourself: $2)"
  fi
  command -v apt-get >/dev/null 2>&1 ||
    fail "$1 needs apt-get, which this machine does not have. Lichen's setup supports Debian/Ubuntu; install by hand: $2"
}

# --- Node.js --------------------------------------------------------------------------------
step "Checking Node.js (>= 20.11) and npm"
command -v node >/dev/null 2>&1 || fail "node is not installed: install Node.js 20 (https://nodejs.org or your distribution), then rerun"
command -v npm >/dev/null 2>&1 || fail "npm is not installed: install npm for Node.js 20, then rerun"
node -e '
const [maj, min] = process.versions.node.split(".").map(Number);
if (maj < 20 || (maj === 20 && min < 11)) { console.error("Node.js " + process.versions.node + " is too old"); process.exit(1); }
' || fail "Lichen needs Node.js >= 20.11 (found $(node --version))"
info "node $(node --version), npm $(npm --version 2>/dev/null)"

# --- Debian packages ------------------------------------------------------------------------
# package -> a file it provides (checked instead of dpkg so tools installed by other means count)
declare -A PROVIDES=(
  [qemu-user-static]=/usr/bin/qemu-aarch64-static
  [gcc-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-gcc
  [binutils-aarch64-linux-gnu]=/usr/bin/aarch64-linux-gnu-objdump
  [libc6-dev-arm64-cross]=/usr/aarch64-linux-gnu/lib/libc.a
  [e2fsprogs]=/sbin/mke2fs
  [busybox-static]=/bin/busybox
  [debian-archive-keyring]=/usr/share/keyrings/debian-archive-keyring.gpg
  [dpkg]=/usr/bin/dpkg-deb
)
step "Checking system packages: ${!PROVIDES[*]}"
missing=()
for pkg in "${!PROVIDES[@]}"; do
  f=${PROVIDES[$pkg]}
  if [ -e "$f" ] || [ -e "/usr${f}" ]; then
    info "ok       $pkg ($f)"
  else
    info "missing  $pkg ($f)"
    missing+=("$pkg")
  fi
done
command -v apt-get >/dev/null 2>&1 || info "note: no apt-get here; 'lichen image build' needs apt-get to download Debian packages"

apt_updated=0
apt_install() {
  need_root "installing $*" "$*"
  if [ "$apt_updated" -eq 0 ]; then
    step "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=1
  fi
  step "apt-get install $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
else
  info "all system packages present"
fi

# --- Redis ----------------------------------------------------------------------------------
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
hostport=${redis_url#*://}
hostport=${hostport#*@}
hostport=${hostport%%/*}
redis_host=${hostport%:*}
redis_port=${hostport##*:}
[ "$redis_port" = "$hostport" ] && redis_port=6379
[ -n "$redis_host" ] || redis_host=127.0.0.1

redis_answers() {
  # PING over a plain TCP socket (no redis-cli needed)
  timeout 3 bash -c "exec 3<>/dev/tcp/$redis_host/$redis_port && printf 'PING\r\n' >&3 && head -c 5 <&3" 2>/dev/null | grep -q PONG
}

if [ "${LICHEN_SETUP_SKIP_REDIS:-0}" = 1 ]; then
  step "Skipping Redis (LICHEN_SETUP_SKIP_REDIS=1)"
else
  step "Checking Redis at $redis_host:$redis_port (REDIS_URL=${redis_url})"
  if redis_answers; then
    info "Redis answers"
  else
    case "$redis_host" in
      127.0.0.1 | localhost | ::1) ;;
      *) fail "no Redis answers at $redis_host:$redis_port (REDIS_URL): start it, or unset REDIS_URL to use a local redis-server" ;;
    esac
    if ! command -v redis-server >/dev/null 2>&1; then
      info "no Redis answers and redis-server is not installed"
      apt_install redis-server
    fi
    step "Starting redis-server on $redis_host:$redis_port"
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && [ "$redis_port" = 6379 ]; then
      need_root "starting redis-server" "redis-server"
      "${SUDO[@]}" systemctl start redis-server || true
    fi
    if ! redis_answers; then
      redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes --save '' --appendonly no \
        --logfile "${TMPDIR:-/tmp}/lichen-redis-$redis_port.log" >/dev/null
    fi
    for _ in $(seq 1 50); do
      redis_answers && break
      sleep 0.1
    done
    redis_answers || fail "redis-server did not come up on $redis_host:$redis_port (see ${TMPDIR:-/tmp}/lichen-redis-$redis_port.log)"
    info "Redis answers"
  fi
fi

# --- npm dependencies and build -------------------------------------------------------------
if [ "${LICHEN_SETUP_SKIP_NPM:-0}" = 1 ]; then
  step "Skipping npm ci and build (LICHEN_SETUP_SKIP_NPM=1)"
  exit 0
fi

step "Installing npm dependencies"
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] &&
  [ node_modules/.package-lock.json -nt package.json ]; then
  info "node_modules is up to date with package-lock.json (skipping npm ci)"
else
  npm ci --no-audit --no-fund --prefer-offline
fi

step "Building (npm run build)"
npm run build

step "Building guest fixtures (npm run fixtures)"
npm run fixtures

step "Setup complete"
info "first run:   npx lichen run -- echo hello"
info "all tests:   npm test"
