# syntax=docker/dockerfile:1
#
# One image for every Lichen process. The first argument picks the process
# (see deploy/docker/entrypoint.sh):
#   docker run IMAGE api      REST API (apps/api)
#   docker run IMAGE runner   BullMQ worker that runs the VMs (apps/runner)
#   docker run IMAGE lichen … the `lichen` command line (apps/cli)
#
# Stages: deps (production node_modules only) and build (all deps, `npm run build`)
# both start from the same package manifests; runtime gets the production
# node_modules plus each workspace's package.json and compiled dist/.

ARG NODE_IMAGE=node:20-slim

# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    SCARF_ANALYTICS=false
# The root manifest and one manifest per npm workspace (libs/* and apps/*).
# test/helm/dockerfile.spec.ts fails when a workspace is missing here.
COPY package.json package-lock.json ./
COPY libs/machine/package.json libs/machine/
COPY libs/vfs/package.json libs/vfs/
COPY libs/kernel/package.json libs/kernel/
COPY libs/images/package.json libs/images/
COPY apps/api/package.json apps/api/
COPY apps/runner/package.json apps/runner/
COPY apps/cli/package.json apps/cli/

# ---------------------------------------------------------------------------
FROM base AS deps
RUN npm ci --omit=dev && npm cache clean --force

# ---------------------------------------------------------------------------
FROM base AS build
RUN npm ci
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs/ libs/
COPY apps/ apps/
RUN npm run build
# Collect what the runtime needs from each workspace: its manifest, its compiled
# output and (for the CLI) its bin/ launcher when present. Sources, specs and
# tsbuildinfo files stay behind.
RUN set -eu; \
    mkdir -p /out; \
    for ws in libs/* apps/*; do \
      [ -f "$ws/package.json" ] || continue; \
      mkdir -p "/out/$ws"; \
      cp "$ws/package.json" "/out/$ws/"; \
      cp -R "$ws/dist" "/out/$ws/dist"; \
      if [ -d "$ws/bin" ]; then cp -R "$ws/bin" "/out/$ws/bin"; fi; \
    done; \
    find /out -name '*.tsbuildinfo' -delete; \
    test -f /out/apps/api/dist/api/src/main.js; \
    test -f /out/apps/runner/dist/main.js; \
    test -f /out/apps/cli/dist/main.js; \
    test -f /out/apps/cli/bin/lichen.js

# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# e2fsprogs: mke2fs/debugfs for the image builders (`lichen image build`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends e2fsprogs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Writable state lives under /var/lib/lichen (the Helm chart mounts an emptyDir there, the
# root filesystem being read-only): image cache (S3 mode), local image store and artifacts
# (single-machine mode without S3).
ENV NODE_ENV=production \
    LICHEN_IMAGE_CACHE_DIR=/var/lib/lichen/cache \
    LICHEN_IMAGE_DIR=/var/lib/lichen/images \
    LICHEN_ARTIFACT_DIR=/var/lib/lichen/artifacts
# Files stay owned by root and read-only to the process; the process itself runs
# as the unprivileged `node` user (uid/gid 1000) of the base image.
COPY --from=deps /app/package.json /app/package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
COPY deploy/docker/entrypoint.sh /usr/local/bin/lichen-entrypoint
RUN chmod 0755 /usr/local/bin/lichen-entrypoint \
 && mkdir -p /var/lib/lichen \
 && chown 1000:1000 /var/lib/lichen
USER 1000:1000
# API (LICHEN_API_PORT) and runner metrics/health (LICHEN_RUNNER_METRICS_PORT).
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/lichen-entrypoint"]
CMD ["api"]
