#!/usr/bin/env bash
# Smoke test of the bundle built by build_bundle.sh: it starts offscreen, opens the demo model
# and quits; its CLI inspects the demo model; TensorRT/CUDA come from the user's Python only.
#
#   bash packaging/smoke_test.sh [BUNDLE_DIR]     # default: dist/trtgui
#
# Environment: SMOKE_OUT (folder for the screenshot and logs; default a temporary folder),
# SMOKE_TIMEOUT_S (how long the app may take to open the demo; default 60).
# Exit status 0 when every check passed; the failing check's output otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=$(realpath "${1:-$root/dist/trtgui}")
out=${SMOKE_OUT:-$(mktemp -d -t trtgui-smoke.XXXXXX)}
mkdir -p "$out"
timeout_s=${SMOKE_TIMEOUT_S:-60}
demo="$bundle/_internal/resources/demo/model.onnx"
PY=${PYTHON:-python3}  # only to read JSON; the bundle itself needs no Python

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
step() { echo "smoke: $*"; }

[ -x "$bundle/trtgui" ] || fail "no bundle at $bundle (run packaging/build_bundle.sh)"
[ -x "$bundle/trtgui-cli" ] || fail "$bundle/trtgui-cli is missing"
[ -f "$demo" ] || fail "the demo model is not in the bundle: $demo"
# Run from elsewhere so nothing can come from the source checkout by accident.
cd "$out"
export QT_QPA_PLATFORM=offscreen

step "1/4 the bundle carries no TensorRT, CUDA, torch or ModelOpt"
TRTGUI_NO_USER_SITE=1 "$bundle/trtgui" --bundle-info >"$out/bundle-info-isolated.json" ||
  fail "trtgui --bundle-info exited with $?"
"$PY" - "$out/bundle-info-isolated.json" <<'EOF' || fail "see above"
import json, sys
info = json.load(open(sys.argv[1]))
assert info["frozen"], "not a frozen bundle"
for name in ("tensorrt", "tensorrt_rtx", "cuda", "pycuda", "torch", "modelopt"):
    where = info["packages"][name]
    assert not where["found"], f"{name} found with the user's Python switched off: {where}"
for name in ("PySide6", "onnx", "onnxruntime", "numpy", "PIL", "trtgui"):
    where = info["packages"][name]
    assert where.get("in_bundle"), f"{name} does not come from the bundle: {where}"
EOF

step "2/4 the user's Python is found at run time"
"$bundle/trtgui" --bundle-info >"$out/bundle-info.json" || fail "trtgui --bundle-info exited with $?"
"$PY" - "$out/bundle-info.json" <<'EOF' || fail "see above"
import json, sys
info = json.load(open(sys.argv[1]))
print("smoke:   user site:", info["user_site_note"])
for name, verdict in info["imports"].items():
    print(f"smoke:   import {name}: {verdict}")
    assert verdict.startswith("ok"), f"{name} is installed in the user's Python but fails to import"
for name in ("tensorrt", "tensorrt_rtx", "cuda"):
    where = info["packages"][name]
    assert not where.get("in_bundle"), f"{name} was loaded from inside the bundle: {where}"
EOF

step "3/4 trtgui-cli inspects the demo model"
"$bundle/trtgui-cli" --version || fail "trtgui-cli --version exited with $?"
"$bundle/trtgui-cli" inspect --json "$demo" >"$out/inspect.json" ||
  fail "trtgui-cli inspect exited with $?"
# The GUI check below waits for the model's first output name: it is shown only once the
# model panel has rendered the inspected model, so it proves the demo really opened.
expect=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["outputs"][0]["name"])' \
  "$out/inspect.json") || fail "trtgui-cli inspect --json gave no outputs"
step "  demo model output: $expect"

step "4/4 trtgui --demo starts offscreen and opens the demo model"
rc=0
TRTGUI_QUIT_AFTER_MS=$((timeout_s * 1000)) TRTGUI_SMOKE_EXPECT="$expect" \
  TRTGUI_SMOKE_SCREENSHOT="$out/smoke.png" \
  timeout $((timeout_s + 30)) "$bundle/trtgui" --demo >"$out/gui.log" 2>&1 || rc=$?
report=$(grep -m1 '^trtgui-smoke: ' "$out/gui.log" | sed 's/^trtgui-smoke: //' || true)
if [ "$rc" != 0 ] || [ -z "$report" ]; then
  tail -n 40 "$out/gui.log" >&2
  fail "trtgui --demo exited with $rc$([ -z "$report" ] && echo ', no smoke report')"
fi
"$PY" - "$report" "$out/smoke.png" <<'EOF' || { tail -n 40 "$out/gui.log" >&2; fail "see above"; }
import json, os, sys
report = json.loads(sys.argv[1])
assert report["ok"] and report["found"], f"the demo model did not show: {report}"
assert report["visible"], "the window was not visible"
assert os.path.getsize(sys.argv[2]) > 10_000, "the screenshot is empty"
print(f"smoke:   window '{report['title']}' showed '{report['expect']}' "
      f"after {report['elapsed_ms']} ms; screenshot {sys.argv[2]}")
EOF
step "OK"
