#!/bin/sh
# Container entry point: the first argument names the Lichen process to start.
# `exec` keeps node as PID 1's direct replacement so SIGTERM from the kubelet
# reaches the process and its graceful shutdown runs.
set -eu
cd /app
cmd="${1:-api}"
if [ "$#" -gt 0 ]; then shift; fi
case "$cmd" in
  api) exec node apps/api/dist/main.js "$@" ;;
  runner) exec node apps/runner/dist/main.js "$@" ;;
  lichen | cli) exec node apps/cli/dist/main.js "$@" ;;
  -h | --help | help)
    echo "usage: lichen-entrypoint api|runner|lichen [args...]  (anything else is executed as given)"
    exit 0
    ;;
  *) exec "$cmd" "$@" ;;
esac
