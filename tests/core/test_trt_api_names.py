"""Every `tensorrt` name the build code uses exists in the real NVIDIA bindings.

`tensorrt-bindings` 8.6.1, `tensorrt-cu12-bindings` (10.x) and `tensorrt-cu13-bindings` (11.x)
are real wheels on PyPI, but they do not import without NVIDIA's libraries. So the test
downloads them (cached under ~/.cache/trtgui-test-wheels or $TRTGUI_TEST_WHEELS), opens the
pybind11 module and looks for each attribute name as a NUL-terminated string in the binary.
pybind11 registers every class, method, property and enum value by a C string, so a name
missing from the binary is missing from the API. (The linker may merge "INT8" into the tail of
"UINT8", so presence is checked as a suffix; absence is checked only for names that cannot hide
that way.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from trtgui.core import backends

WHEELS = {
    "trt8": "tensorrt-bindings==8.6.1",
    "trt10": "tensorrt-cu12-bindings>=10.0,<11",
    "trt11": "tensorrt-cu13-bindings>=11.0,<12",
}
# The 8.6 wheels predate manylinux_2_28.
PLATFORMS = {"trt8": "manylinux_2_17_x86_64"}
CACHE = Path(os.environ.get("TRTGUI_TEST_WHEELS", Path.home() / ".cache" / "trtgui-test-wheels"))


def _wheel_so(family: str) -> bytes:
    spec = WHEELS[family]
    folder = CACHE / family
    folder.mkdir(parents=True, exist_ok=True)
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11",
             "--platform", PLATFORMS.get(family, "manylinux_2_28_x86_64"),
             "-d", str(folder), spec],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        wheels = sorted(folder.glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            pytest.skip(f"cannot download {spec} (offline?): {proc.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        names = [n for n in wheel.namelist() if n.endswith(".so") and "tensorrt" in n]
        assert names, f"no binary module in {wheels[-1].name}"
        return wheel.read(names[0])


@pytest.fixture(scope="module", params=["trt8", "trt10", "trt11"])
def binding(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    return request.param, _wheel_so(request.param)


def present(blob: bytes, word: str) -> bool:
    return word.encode() + b"\0" in blob


def test_every_used_name_exists(binding: tuple[str, bytes]) -> None:
    family, blob = binding
    missing = [
        name
        for name in backends.API_NAMES[family]
        if not all(present(blob, part) for part in name.split("."))
    ]
    assert not missing, f"names used on the {family} path but absent from its bindings: {missing}"


def test_removed_names_only_on_the_10x_path(binding: tuple[str, bytes]) -> None:
    family, blob = binding
    for name in backends.REMOVED_IN_11:
        assert name not in backends.API_NAMES["trt11"]
        assert name not in backends.API_NAMES["rtx"]
    if family == "trt11":
        # The method is sound: these really are gone from the 11.x binary.
        for word in ("FP16", "EXPLICIT_BATCH", "int8_calibrator", "platform_has_fast_fp16"):
            assert not present(blob, word), word
    else:
        for word in ("FP16", "EXPLICIT_BATCH", "int8_calibrator", "platform_has_fast_fp16"):
            assert present(blob, word), word


def test_the_86_path_avoids_what_86_lacks(binding: tuple[str, bytes]) -> None:
    """8.6 has no strong typing, no progress monitor, no BF16 and no parser node names (seen
    on the H200, and absent from the 8.6.1 binary): its path must not use them."""
    family, blob = binding
    if family != "trt8":
        pytest.skip("the 8.6 bindings only")
    lacking = ("STRONGLY_TYPED", "IProgressMonitor", "BF16", "node_name", "node_operator")
    for word in lacking:
        assert not present(blob, word), word  # the method is sound: they really are absent
    used = {part for name in backends.API_NAMES["trt8"] for part in name.split(".")}
    assert not used & set(lacking)


def test_rtx_names_exist_in_the_installed_module() -> None:
    info = backends.probe_backend("rtx")
    if not info.available:
        pytest.skip("TensorRT-RTX is not installed")
    trt = backends.load_trt("rtx")
    missing = []
    for name in backends.API_NAMES["rtx"]:
        obj: object = trt
        for part in name.split("."):
            if not hasattr(obj, part):
                missing.append(name)
                break
            obj = getattr(obj, part)
    assert not missing


def test_build_code_names_are_listed() -> None:
    """`trt.X.Y` written in the build modules appears in some path's list."""
    import re

    listed = {n for names in backends.API_NAMES.values() for n in names}
    listed_roots = {n.split(".")[0] for n in listed}
    core = Path(backends.__file__).parent
    # the build stage and the backend module: the code the API_NAMES lists describe
    for path in [core / "backends.py", *sorted((core / "build").glob("*.py"))]:
        module = str(path.relative_to(core))
        text = path.read_text()
        for match in re.finditer(
            r"\btrt\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?", text
        ):
            root, member = match.groups()
            if member and f"{root}.{member}" not in listed:
                # Enum members chosen at run time are listed explicitly.
                assert root in listed_roots, f"{module}: trt.{root}.{member}"
            else:
                assert root in listed_roots, f"{module}: trt.{root}"
