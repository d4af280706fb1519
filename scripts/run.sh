#!/usr/bin/env bash
# From a fresh machine: installs dependencies, builds build/meshctl and renders the control plane
# with the embedded defaults (a fresh trust anchor and issuer each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build -DMESHCTL_TESTS=OFF
exec build/meshctl install "$@"
