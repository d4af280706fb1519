#!/usr/bin/env bash
# Runs Kubernetes' own CRD validation (the code an API server runs on create) over the CRDs that
# `meshctl install --crds` renders, then validates sample objects against their schemas: the valid
# samples must be accepted, the ones marked `crdcheck.meshctl.io/expect: invalid` refused.
# Usage: crd_check.sh MESHCTL_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
meshctl=$1 src=$2 work=$3
mkdir -p "$work"
(cd "$src/test/tools/crdcheck" && GOFLAGS=-mod=readonly go build -o "$work/crdcheck" .)
"$meshctl" install --crds > "$work/crds.yaml"
"$work/crdcheck" "$work/crds.yaml" "$src/test/kube/testdata/crd_objects.yaml"
