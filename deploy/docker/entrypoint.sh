#!/bin/sh
# Container entry point: the first argument names the Lichen process to start.
# The paths are where `npm run build` (tsc -b) puts each app's main module; the API's
# tsconfig has rootDir ".." (it compiles the runner's shared core too), hence dist/api/src.
# test/helm/dockerfile.spec.ts derives these paths from the tsconfigs and fails on drift.
# `exec` keeps node as PID 1's direct replacement so SIGTERM from the kubelet
# reaches the process and its graceful shutdown runs.
set -eu
cd /app
cmd="${1:-api}"
if [ "$#" -gt 0 ]; then shift; fi
case "$cmd" in
  api) exec node apps/api/dist/api/src/main.js "$@" ;;
  runner) exec node apps/runner/dist/main.js "$@" ;;
  lichen | cli) exec node apps/cli/bin/lichen.js "$@" ;;
  -h | --help | help)
    echo "usage: lichen-entrypoint api|runner|lichen [args...]  (anything else is executed as given)"
    exit 0
    ;;
  *) exec "$cmd" "$@" ;;
esac
