#!/usr/bin/env bash
# Every GPU check of trtgui with NVIDIA TensorRT, in one command for the lent device machine.
#
#   bash tools/gpu-check.sh a|b|c|p [PYTEST ARGS]
#     a: EfficientNet-Lite0 (~5 min), b: PP-OCRv4 det with two profiles (~6 min), c: doclaynet
#     FP16 + INT8, p: pycuda with part a's engines; each fits one device call. PYTEST ARGS
#     (e.g. -k bench) narrow a part for a short re-run.
#   bash tools/gpu-check.sh x SCRIPT [ARGS]: a bench script (bench/int8_placement_gpu.py,
#     bench/int8_accuracy.py --backend tensorrt) in the same environment.
#
# On the device, after ../shared/tools/trt86's install.sh put TensorRT 8.6 in /tmp/trt86/pkg:
# installs the few wheels the device lacks (.trt86/gpu-a/wheels, git-ignored) into /tmp/site,
# then runs tests/gpu/test_trt86_*.py with the models and photos copied into .trt86/gpu-a and
# .trt86/gpu-b. What comes back lies under $OUT: results_<part>.json (written after every
# test, so a run cut short still reports), test_<part>.log, the real inspector JSON, runner
# outputs, the VERBOSE build log and the timing cache (kept in /tmp/gpuwork between calls).
#
# Elsewhere (no GPU, or no NVIDIA TensorRT) the same command runs and every GPU test skips,
# which is how it is rehearsed. It may run from a copy of the checkout (trtgui/, tests/,
# tools/), so that files edited meanwhile do not change what runs. Environment:
#   TRTGUI_GPU_DATA        the folder holding gpu-a/ and gpu-b/ (default: <checkout>/.trt86)
#   TRTGUI_TACTIC_SOURCES  default -CUBLAS,-CUBLAS_LT,-CUDNN: the kit's cuBLAS 12 / cuDNN 8 are
#                          stubs that only satisfy the loader, so TensorRT must not use them
#   BUDGET                 seconds the tests may take (default 480; the device allows 600 a call)
# A timing cache from an earlier device run, <data>/cache/timing.cache, seeds TRTGUI_GPU_WORK's
# (same GPU, same TensorRT: rebuilds skip the kernel timing they already did). Part p needs
# pycuda: built on the device into /tmp/site-pycuda (see ../shared/tools/device-wheels.sh).
set -u
part=${1:-a}
case "$part" in
  a) tests=(tests/gpu/test_trt86_classifier.py) ;;
  b) tests=(tests/gpu/test_trt86_detectors.py -k ppocr) ;;
  c) tests=(tests/gpu/test_trt86_detectors.py -k doclaynet) ;;
  p) tests=(tests/gpu/test_trt86_pycuda.py tests/gpu/test_cuda_gpu.py) ;;
  x) tests=() ;;  # x SCRIPT ARGS: a bench script in the same environment, not pytest
  *) echo "usage: $0 a|b|c|p [PYTEST ARGS...] | x SCRIPT [ARGS...]" >&2; exit 2 ;;
esac
tests+=("${@:2}")  # e.g. -k bench: a part's tests narrowed for a short re-run
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
out=${OUT:-/tmp/trtgui-gpu-out}
mkdir -p "$out"
site=${TRTGUI_SITE:-/tmp/site}
py=${PYTHON:-python3}

data=${TRTGUI_GPU_DATA:-$root/.trt86}
for wheels in "$data"/gpu-a/wheels "$data"/gpu-b/wheels; do
  if [ ! -f "$site/.trtgui-wheels" ] && ls "$wheels"/*.whl >/dev/null 2>&1; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$site" "$wheels"/*.whl && touch "$site/.trtgui-wheels" || exit 3
  fi
done
export PYTHONPATH="/tmp/trt86/pkg:$site:/tmp/site-pycuda:$root${PYTHONPATH:+:$PYTHONPATH}"
export CUDA_MODULE_LOADING=LAZY PYTHONUNBUFFERED=1 PYTHONUTF8=1
export TRTGUI_TACTIC_SOURCES=${TRTGUI_TACTIC_SOURCES--CUBLAS,-CUBLAS_LT,-CUDNN}
export TRTGUI_GPU_WORK=${TRTGUI_GPU_WORK:-/tmp/gpuwork}
export TRTGUI_GPU_MODELS="$data/gpu-a:$data/gpu-b"
export TRTGUI_GPU_RESULTS="$out/results_$part.json"
export OUT="$out"
mkdir -p "$TRTGUI_GPU_WORK"
if [ ! -f "$TRTGUI_GPU_WORK/timing.cache" ] && [ -f "$data/cache/timing.cache" ]; then
  cp "$data/cache/timing.cache" "$TRTGUI_GPU_WORK/timing.cache"
fi

{
  echo "== $(date -u +%FT%TZ) part $part on $(hostname)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
  echo "nvcc: $(command -v nvcc || echo none) | cuda.h: $(ls /usr/local/cuda*/include/cuda.h 2>/dev/null | head -1 || true)" \
    "| timing cache: $(stat -c %s "$TRTGUI_GPU_WORK/timing.cache" 2>/dev/null || echo none) bytes"
  "$py" - <<'EOF'
import sys
from trtgui.core import backends, gpus
info = backends.probe_backend("tensorrt")
print("python", sys.version.split()[0], "| tensorrt", info.version or info.reason,
      "| family", backends.api_family(info) if info.available else "-")
print("gpus:", gpus.gpu_report())
EOF
} 2>&1 | tee "$out/test_$part.log"

set -o pipefail
if [ "$part" = x ]; then
  timeout "${BUDGET:-480}" "$py" "${tests[@]}" 2>&1 | tee -a "$out/test_$part.log"
else
  timeout "${BUDGET:-480}" "$py" -m pytest -p no:cacheprovider -q -rA --timeout=420 "${tests[@]}" \
    2>&1 | tee -a "$out/test_$part.log"
fi
rc=$?
cp "$TRTGUI_GPU_WORK/timing.cache" "$out/timing.cache" 2>/dev/null || true
echo "== exit $rc" | tee -a "$out/test_$part.log"
exit $rc
