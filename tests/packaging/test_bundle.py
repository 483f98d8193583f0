"""The PyInstaller bundle: build it (or reuse an up-to-date dist/trtgui) and smoke-test it.

Slow (the build takes about half a minute on two cores); skipped without PyInstaller
(`pip install '.[bundle]'`). Set TRTGUI_REBUILD_BUNDLE=1 to force a fresh build.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "trtgui"
SOURCES = ("trtgui", "resources", "packaging")

pytestmark = pytest.mark.slow


def _newest_source_mtime() -> float:
    newest = 0.0
    for top in SOURCES:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


@pytest.fixture(scope="module")
def bundle() -> Path:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller not installed (pip install '.[bundle]')")
    exe = BUNDLE / "trtgui"
    fresh = exe.is_file() and exe.stat().st_mtime > _newest_source_mtime()
    if os.environ.get("TRTGUI_REBUILD_BUNDLE") or not fresh:
        env = {**os.environ, "PYTHON": sys.executable}
        done = subprocess.run(
            ["bash", str(ROOT / "packaging" / "build_bundle.sh")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return BUNDLE


@pytest.mark.timeout(900)
def test_bundle_smoke(bundle: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "SMOKE_OUT": str(tmp_path)}
    env.pop("QT_QPA_PLATFORM", None)  # the script sets offscreen itself
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "smoke_test.sh"), str(bundle)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke: OK" in done.stdout
    assert (tmp_path / "smoke.png").stat().st_size > 10_000
    isolated = json.loads((tmp_path / "bundle-info-isolated.json").read_text())
    assert isolated["packages"]["tensorrt_rtx"]["found"] is False


def test_bundle_leaves_out_tensorrt_and_cuda(bundle: Path) -> None:
    internal = bundle / "_internal"
    names = {p.name.lower() for p in internal.rglob("*")}
    for forbidden in ("tensorrt_rtx", "tensorrt", "libtensorrt_rtx.so.1", "torch", "pycuda"):
        assert forbidden not in names
    assert not any(
        n.startswith(("libnvinfer", "libcudart", "libcublas", "libcudnn")) for n in names
    )
    assert (internal / "resources" / "demo" / "model.onnx").is_file()
    assert (internal / "resources" / "icons" / "trtgui.svg").is_file()
    assert (bundle / "trtgui-cli").is_symlink()
