"""packaging/pyi_rth_user_site.py: how the bundle finds TensorRT in the user's Python."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (sys.version_info.major, sys.version_info.minor)


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "pyi_rth_user_site", ROOT / "packaging" / "pyi_rth_user_site.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    before = list(sys.path)
    spec.loader.exec_module(module)
    assert sys.path == before, "importing the hook outside a bundle must not touch sys.path"
    return module


def _fake_python(folder: Path, version: tuple[int, int], path: list[str]) -> str:
    """A stand-in interpreter that answers the hook's question like a real one would."""
    exe = folder / f"python{version[0]}.{version[1]}"
    answer = json.dumps({"version": list(version), "path": path})
    exe.write_text(f"#!/bin/sh\necho '{answer}'\n")
    exe.chmod(0o755)
    return str(exe)


def test_explicit_folders_win(hook: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    env = {hook.ENV_SITE: os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "missing")])}
    dirs, note = hook.user_site_dirs(env, VERSION)
    assert dirs == [str(tmp_path / "a")]
    assert hook.ENV_SITE in note


def test_switched_off(hook: ModuleType, tmp_path: Path) -> None:
    env = {hook.ENV_OFF: "1", hook.ENV_SITE: str(tmp_path)}
    assert hook.user_site_dirs(env, VERSION)[0] == []


def test_takes_the_path_of_a_matching_python(hook: ModuleType, tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    exe = _fake_python(tmp_path, VERSION, ["", str(site), str(tmp_path / "gone")])
    dirs, note = hook.user_site_dirs({hook.ENV_PYTHON: exe, "PATH": ""}, VERSION)
    assert dirs == [str(site)]
    assert note == f"from {exe}"


def test_refuses_a_python_of_another_version(hook: ModuleType, tmp_path: Path) -> None:
    exe = _fake_python(tmp_path, (3, 99), [str(tmp_path)])
    dirs, note = hook.user_site_dirs({hook.ENV_PYTHON: exe, "PATH": ""}, VERSION)
    assert dirs == []
    assert "3.99" in note and hook.ENV_PYTHON in note


def test_real_interpreter_finds_this_environment(hook: ModuleType) -> None:
    """Asking this very interpreter gives the folders TensorRT for RTX is installed in."""
    dirs, _ = hook.user_site_dirs({hook.ENV_PYTHON: sys.executable, "PATH": ""}, VERSION)
    assert any(Path(d).name == "site-packages" for d in dirs)
    rtx = importlib.util.find_spec("tensorrt_rtx")
    if rtx is not None and rtx.origin:
        assert str(Path(rtx.origin).parents[1]) in dirs


def test_child_env_undoes_the_bootloader_library_path(hook: ModuleType) -> None:
    env = {"LD_LIBRARY_PATH": "/bundle/_internal", "LD_LIBRARY_PATH_ORIG": "/usr/lib/x"}
    assert hook.child_env(env)["LD_LIBRARY_PATH"] == "/usr/lib/x"


def test_extend_appends_after_the_bundle_and_skips_duplicates(
    hook: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", ["/bundle", str(tmp_path)])
    added = hook.extend_sys_path([str(tmp_path), "/user/site"])
    assert added == ["/user/site"]
    assert sys.path == ["/bundle", str(tmp_path), "/user/site"]
