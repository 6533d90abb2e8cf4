#!/usr/bin/env bash
# Checks deploy/helm/lichen with the real tools when they are installed:
#   helm lint --strict               (defaults and every examples/*.yaml)
#   helm template … | kubeconform -strict   (defaults and every examples/*.yaml)
# When `helm` is missing but `kubeconform` is present, the manifests rendered by the test
# renderer (test/helm/support/render-cli.ts) are validated instead, and the script says so.
# A missing tool is reported as SKIPPED (exit 0); a failing check exits 1.
#
# Environment:
#   KUBE_VERSION                 Kubernetes version for helm template and kubeconform (default 1.29.0)
#   KUBECONFORM_SCHEMA_LOCATIONS space-separated -schema-location values (default: "default" plus
#                                the datree CRDs catalog for ServiceMonitor/PrometheusRule/ScaledObject)
#   HELM_CHECK_REQUIRE=1         treat a missing tool as a failure (for CI images that ship them)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/deploy/helm/lichen"
KUBE_VERSION="${KUBE_VERSION:-1.29.0}"
SCHEMA_LOCATIONS="${KUBECONFORM_SCHEMA_LOCATIONS:-default https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json}"
failed=0
skipped=0

value_sets=("")
for f in "$CHART"/examples/*.yaml; do value_sets+=("$f"); done

label() { if [ -z "$1" ]; then echo "values.yaml"; else echo "examples/$(basename "$1")"; fi; }
values_args() { if [ -n "$1" ]; then printf '%s\n' "-f" "$1"; fi; }

skip() {
  echo "helm-check: SKIPPED $1"
  skipped=$((skipped + 1))
  if [ "${HELM_CHECK_REQUIRE:-0}" = "1" ]; then failed=1; fi
}

kubeconform_args=(-strict -summary -kubernetes-version "$KUBE_VERSION")
for loc in $SCHEMA_LOCATIONS; do kubeconform_args+=(-schema-location "$loc"); done

if command -v helm >/dev/null 2>&1; then
  echo "helm-check: $(helm version --short 2>/dev/null || echo helm)"
  for vs in "${value_sets[@]}"; do
    mapfile -t args < <(values_args "$vs")
    if helm lint --strict "$CHART" "${args[@]}"; then
      echo "helm-check: PASS helm lint --strict ($(label "$vs"))"
    else
      echo "helm-check: FAIL helm lint --strict ($(label "$vs"))"
      failed=1
    fi
  done
else
  skip "helm lint: helm is not on PATH"
fi

if command -v kubeconform >/dev/null 2>&1; then
  for vs in "${value_sets[@]}"; do
    mapfile -t args < <(values_args "$vs")
    if command -v helm >/dev/null 2>&1; then
      source_desc="helm template"
      manifests="$(helm template lichen "$CHART" --kube-version "$KUBE_VERSION" "${args[@]}")" || { echo "helm-check: FAIL helm template ($(label "$vs"))"; failed=1; continue; }
    else
      source_desc="test renderer (helm not on PATH)"
      manifests="$(cd "$ROOT" && npx --no-install tsx test/helm/support/render-cli.ts "${args[@]}")" || { echo "helm-check: FAIL render ($(label "$vs"))"; failed=1; continue; }
    fi
    if printf '%s\n' "$manifests" | kubeconform "${kubeconform_args[@]}"; then
      echo "helm-check: PASS kubeconform -strict on $source_desc ($(label "$vs"))"
    else
      echo "helm-check: FAIL kubeconform -strict on $source_desc ($(label "$vs"))"
      failed=1
    fi
  done
else
  skip "kubeconform: kubeconform is not on PATH"
fi

if [ "$failed" -ne 0 ]; then
  echo "helm-check: FAILED"
  exit 1
fi
echo "helm-check: OK ($skipped skipped)"
