#!/usr/bin/env bash
# Renders the plain manifests deploy/{daemonset,standalone,sidecar-example}.yaml from their
# kustomize overlays (deploy/kustomize/overlays/*), so `kubectl apply -f deploy/<name>.yaml`
# keeps working. Each rendered file starts with its overlay source's leading comments.
# tests/e2e/deploy.rs fails when a rendered file and its overlay differ.
set -euo pipefail
cd "$(dirname "$0")/.."
for name in daemonset standalone sidecar-example; do
  overlay="deploy/kustomize/overlays/$name"
  source=$(sed -n 's/^  - \([a-z-]*\.yaml\)$/\1/p' "$overlay/kustomization.yaml" | tail -1)
  {
    echo "# Rendered from $overlay by scripts/render-deploy.sh: edit the overlay, then run it."
    echo "#"
    sed -n '/^#/!q;p' "$overlay/$source"
    kubectl kustomize "$overlay"
  } > "deploy/$name.yaml"
done
