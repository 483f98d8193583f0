#!/usr/bin/env bash
# Build the one-folder bundle dist/trtgui/ with PyInstaller (packaging/trtgui.spec).
#
#   bash packaging/build_bundle.sh            # build (reuses PyInstaller's cache in build/)
#   bash packaging/build_bundle.sh --clean    # build from scratch
#
# Run it inside the project's virtual environment (the one with PySide6, onnx, onnxruntime):
# the bundle carries that Python and those packages. PyInstaller is installed into it when
# missing (`pip install '.[bundle]'` does the same). TensorRT, CUDA packages, torch and
# ModelOpt are left out of the bundle on purpose; see packaging/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

clean=()
for arg in "$@"; do
  case "$arg" in
    --clean) clean=(--clean) ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

if [ -z "${VIRTUAL_ENV:-}" ] && [ -z "${CONDA_PREFIX:-}" ]; then
  echo "warning: no virtual environment active; using $(command -v python3)" >&2
fi
PY=${PYTHON:-python3}
if ! "$PY" -c 'import PyInstaller' 2>/dev/null; then
  echo "== installing PyInstaller into $("$PY" -c 'import sys; print(sys.prefix)')"
  "$PY" -m pip install --quiet 'pyinstaller>=6.10'
fi
"$PY" -c 'import PySide6, onnx, onnxruntime' || {
  echo "error: this Python lacks the app's packages; run: pip install -e ." >&2; exit 1; }

start=$(date +%s)
echo "== pyinstaller $("$PY" -m PyInstaller --version)"
"$PY" -m PyInstaller --noconfirm "${clean[@]}" --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/trtgui.spec

# The command-line tool is the same executable under a second name.
ln -sfn trtgui dist/trtgui/trtgui-cli

# Refuse a bundle that carries what must come from the user's environment.
leaked=$(find dist/trtgui/_internal -maxdepth 3 \
  \( -iname 'tensorrt*' -o -iname 'libnvinfer*' -o -iname 'libtensorrt*' -o -name 'torch' \
     -o -name 'pycuda' -o -name 'modelopt' -o -path '*/_internal/cuda' -o -path '*/_internal/nvidia' \
     -o -iname 'libcudart*' -o -iname 'libcublas*' -o -iname 'libcudnn*' \) -print)
if [ -n "$leaked" ]; then
  echo "error: the bundle contains excluded packages or libraries:" >&2
  echo "$leaked" >&2
  exit 1
fi

echo "== dist/trtgui: $(du -sh dist/trtgui | cut -f1), $(find dist/trtgui -type f | wc -l) files, built in $(( $(date +%s) - start )) s"
