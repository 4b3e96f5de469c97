#!/usr/bin/env bash
# Runs every gpubuf test. Installs what the tests need when it is missing:
# nvcc 11.8 and the CUDA driver headers (Debian's non-free
# nvidia-cuda-toolkit and nvidia-cuda-dev): nvcc checks that the committed
# PTX is exactly what the CUDA sources compile to, and the headers and
# libcuda stubs let the GPU backend (build tag cuda) compile and link here,
# GPU or not.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v go >/dev/null 2>&1; then
  echo "test.sh: Go 1.26 or newer is needed (https://go.dev/dl)" >&2
  exit 1
fi
if ! command -v nvcc >/dev/null 2>&1 || [ ! -f /usr/include/cuda.h ]; then
  echo "test.sh: nvcc or cuda.h not found; installing nvidia-cuda-toolkit and nvidia-cuda-dev (about 2 minutes)"
  scripts/install-nvcc.sh
fi
# The OpenGL viewer (build tag gl) needs X11 and GL headers to build, and
# Xvfb with Mesa to run headless.
scripts/install-gl.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "== go vet"
go vet ./...
# The GPU build links -lcuda. Without an NVIDIA driver installed, link
# against the stub library nvidia-cuda-dev ships; the binary then cannot
# start (no libcuda.so.1), and the CUDA step below says SKIP.
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
if [ -n "$multiarch" ] && [ ! -e "/usr/lib/$multiarch/libcuda.so" ] && [ -e "/usr/lib/$multiarch/stubs/libcuda.so" ]; then
  export CGO_LDFLAGS="${CGO_LDFLAGS:-} -L/usr/lib/$multiarch/stubs"
fi
# One cuda.h for the whole GPU build, chosen here: Debian's (CUDA 11.8),
# which this script installs. gorgonia.org/cu and the backend's shim both
# search /usr/local/cuda/include and other toolkit directories before the
# system's, so a toolkit there would win; CGO_CPPFLAGS comes before every
# package's flags. gcc ignores -I for a system directory such as
# /usr/include, so the header is linked into a directory of its own, at a
# fixed place so that Go's build cache keeps the GPU build between runs.
cuda_include="${XDG_CACHE_HOME:-$HOME/.cache}/gpubuf/cuda-include"
mkdir -p "$cuda_include"
ln -sfn /usr/include/cuda.h "$cuda_include/cuda.h"
cudago() { CGO_CPPFLAGS="-I$cuda_include ${CGO_CPPFLAGS:-}" go "$@"; }
echo "== go vet -tags cuda (the GPU backend compiles and links here, GPU or not; $(grep -m1 '^#define CUDA_VERSION' /usr/include/cuda.h))"
cudago vet -tags cuda ./...
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cudago build -tags cuda -o "$bin/gpubuf-cuda" ./cmd/gpubuf
echo "== go test -race"
go test -race -count=1 ./...
# The emulator runs a lockstep launch's blocks on GOMAXPROCS workers by
# default: run its suites again on one worker and on four.
echo "== the emulator on one worker and on four (go test -cpu 1,4)"
go test -count=1 -cpu 1,4 ./cpuemu/... ./gpu/emu ./internal/kcheck
echo "== OpenGL viewer (-tags gl, under Xvfb with Mesa)"
go vet -tags gl ./...
xvfb-run -a -s "-screen 0 1600x1200x24" go test -race -tags gl -count=1 ./view/... ./cmd/gpubuf/ -run 'View|GL'
xvfb-run -a -s "-screen 0 1600x1200x24" go run -tags gl ./cmd/gpubuf view --frames 20 --screenshot "$bin/view.png"
echo "== demo"
go run ./cmd/gpubuf demo
echo "== CUDA"
# A cuda-tagged binary exits in gorgonia.org/cu's init when the driver finds
# no GPU, so ask it first: the GPU suite runs on NVIDIA's driver where it
# answers, and otherwise against gpubuf's own libcuda.so.1, which serves the
# driver API from the emulator (gpubuf exec): the same binary, the same
# gorgonia.org/cu and shim, exercised through the real ABI.
go build -o "$bin/gpubuf" ./cmd/gpubuf
if "$bin/gpubuf-cuda" info >"$bin/info" 2>&1; then
  cat "$bin/info"
  # One test binary at a time (-p 1): a GPU in exclusive-process compute
  # mode, as on many cloud nodes, takes one process's context at a time.
  cudago test -tags cuda -p 1 -count=1 ./gpu/... ./host/
  cudago test -tags cuda -count=1 -run 'TestInfoDriverLibrary' ./cmd/gpubuf/
  # The sm_80 kernels (cp.async, mbarrier) against their Go references;
  # below compute capability 8.0 the suite skips them, saying why.
  cudago test -tags cuda -count=1 -v -run 'TestConformance/Kernels/(async_pipeline|warp_specialized_barrier)$' ./gpu/cuda | grep -E '^\s*(---|ok|FAIL)'
  "$bin/gpubuf-cuda" demo --backend cuda
  "$bin/gpubuf-cuda" run --backend cuda --verify --records 1000000 --record-size 256
  cudago test -tags cuda -run XXX -bench RingH2DvsMemcpyCUDA -benchtime 3x ./host/
else
  echo "no working NVIDIA driver ($(head -n 1 "$bin/info")): running the CUDA backend against the emulated libcuda.so.1"
  lib=$("$bin/gpubuf" driver-lib --out "$bin/lib")
  export GPUBUF="$bin/gpubuf"
  LD_LIBRARY_PATH="$lib" "$bin/gpubuf-cuda" info
  LD_LIBRARY_PATH="$lib" cudago test -tags cuda -count=1 -p 1 ./gpu/... ./host/
  LD_LIBRARY_PATH="$lib" cudago test -tags cuda -count=1 -run 'TestInfoDriverLibrary' ./cmd/gpubuf/
  LD_LIBRARY_PATH="$lib" cudago test -tags cuda -count=1 -v -run 'TestConformance/Kernels/(async_pipeline|warp_specialized_barrier)$' ./gpu/cuda | grep -E '^\s*(---|ok|FAIL)'
  LD_LIBRARY_PATH="$lib" "$bin/gpubuf-cuda" demo --backend cuda
  echo "== driver-API examples under gpubuf exec"
  for k in vectoradd handoff; do
    cc -o "$bin/$k" "examples/driver/$k.c" ${CGO_LDFLAGS:-} -lcuda
  done
  "$bin/gpubuf" exec "$bin/vectoradd" examples/driver/vectoradd.ptx
  "$bin/gpubuf" exec "$bin/handoff" examples/driver/handoff.ptx
  # The racy handoff under the checker: its report, exit status 1, and a
  # SARIF log (cmd/gpubuf's TestExecCheckHandoff and TestExecSARIFHandoff
  # check what they hold).
  if "$bin/gpubuf" exec --check --sarif "$bin/handoff.sarif" "$bin/handoff" examples/driver/handoff.ptx; then
    echo "gpubuf exec --check: the racy handoff exited 0" >&2
    exit 1
  fi
  grep -q '"ruleId": "race/RAW/inter-warp"' "$bin/handoff.sarif"
fi
