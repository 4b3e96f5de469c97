#!/usr/bin/env bash
# Runs every gpubuf test. Installs what the tests need when it is missing:
# nvcc 11.8 (Debian's non-free nvidia-cuda-toolkit), used to check that the
# committed PTX is exactly what the CUDA sources compile to.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v go >/dev/null 2>&1; then
  echo "test.sh: Go 1.26 or newer is needed (https://go.dev/dl)" >&2
  exit 1
fi
if ! command -v nvcc >/dev/null 2>&1; then
  echo "test.sh: nvcc not found; installing nvidia-cuda-toolkit (about 2 minutes)"
  scripts/install-nvcc.sh
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 ./...
echo "== demo"
go run ./cmd/gpubuf demo
