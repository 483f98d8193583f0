"""PyInstaller runtime hook: let the bundle import TensorRT and CUDA from the user's Python.

The bundle deliberately leaves out TensorRT, TensorRT for RTX, the CUDA Python packages,
torch and ModelOpt (large, licensed separately, and tied to the user's driver). At start-up
this hook appends the user's own module search path to `sys.path`, after the bundle's own
entries, so `import tensorrt` (or `tensorrt_rtx`, `cuda`, `pycuda`) finds the user's install
while every module the bundle carries still comes from the bundle.

Where the folders come from, first match wins:

1. `TRTGUI_PYTHON_SITE`: folders separated by `os.pathsep`, used as given.
2. The `sys.path` of a Python interpreter: `TRTGUI_PYTHON`, else `$VIRTUAL_ENV/bin/python`,
   else `$CONDA_PREFIX/bin/python`, else `python3` / `python` on PATH. Its folders are only
   used when its major.minor version equals the bundle's, because compiled modules
   (TensorRT's bindings among them) load only into the Python version they were built for.

`TRTGUI_NO_USER_SITE=1` turns the hook off. The outcome is left in the environment for the
doctor report: `TRTGUI_USER_SITE_ADDED` (the folders added, `os.pathsep`-separated) and
`TRTGUI_USER_SITE_NOTE` (one line saying where they came from or why none were added).

The file is also importable (tests call its functions); it only changes `sys.path` when it
runs inside a frozen bundle.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

ENV_SITE = "TRTGUI_PYTHON_SITE"
ENV_PYTHON = "TRTGUI_PYTHON"
ENV_OFF = "TRTGUI_NO_USER_SITE"
ENV_ADDED = "TRTGUI_USER_SITE_ADDED"
ENV_NOTE = "TRTGUI_USER_SITE_NOTE"

_ASK = (
    "import json, sys; print(json.dumps({'version': list(sys.version_info[:2]), 'path': sys.path}))"
)
_TIMEOUT_S = 10.0


def candidate_pythons(env: Mapping[str, str]) -> list[str]:
    """Interpreters to ask, most specific first, without duplicates."""
    found: list[str] = []
    if env.get(ENV_PYTHON):
        found.append(env[ENV_PYTHON])
    for prefix_var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if env.get(prefix_var):
            exe = os.path.join(env[prefix_var], "bin", "python")
            if os.path.exists(exe):
                found.append(exe)
    for name in ("python3", "python"):
        exe = shutil.which(name, path=env.get("PATH", os.defpath))
        if exe:
            found.append(exe)
    unique: list[str] = []
    for exe in found:
        if exe not in unique:
            unique.append(exe)
    return unique


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for asking the user's interpreter: the bootloader's library path
    changes undone, so that interpreter loads its own libpython and OpenSSL, not ours."""
    clean = dict(env)
    for var in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        orig = clean.pop(var + "_ORIG", None)
        if orig is not None:
            clean[var] = orig
        elif getattr(sys, "frozen", False):
            clean.pop(var, None)
    for var in ("PYTHONHOME", "PYTHONNOUSERSITE", "_MEIPASS2", "_PYI_APPLICATION_HOME_DIR"):
        clean.pop(var, None)
    return clean


def ask_python(exe: str, env: Mapping[str, str]) -> tuple[tuple[int, int], list[str]] | None:
    """(major, minor) and sys.path of one interpreter, or None when it cannot be run."""
    try:
        done = subprocess.run(
            [exe, "-c", _ASK],
            env=child_env(env),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        major, minor = answer["version"]
        return (int(major), int(minor)), [str(p) for p in answer["path"]]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def user_site_dirs(
    env: Mapping[str, str], version: tuple[int, int] | None = None
) -> tuple[list[str], str]:
    """The folders to append and a one-line note saying where they came from."""
    version = version or (sys.version_info.major, sys.version_info.minor)
    if env.get(ENV_OFF, "") not in ("", "0"):
        return [], f"{ENV_OFF} is set: not looking for the user's Python packages"
    if env.get(ENV_SITE):
        dirs = [d for d in env[ENV_SITE].split(os.pathsep) if d]
        return [d for d in dirs if os.path.isdir(d)], f"from {ENV_SITE}"
    mismatched: list[str] = []
    for exe in candidate_pythons(env):
        answer = ask_python(exe, env)
        if answer is None:
            continue
        exe_version, path = answer
        if exe_version != version:
            mismatched.append(f"{exe} is Python {exe_version[0]}.{exe_version[1]}")
            continue
        dirs = [p for p in path if p and os.path.isdir(p)]
        return dirs, f"from {exe}"
    want = f"{version[0]}.{version[1]}"
    if mismatched:
        return [], (
            f"no Python {want} found ({'; '.join(mismatched)}); set {ENV_PYTHON} to a Python "
            f"{want} with TensorRT installed, or {ENV_SITE} to its site-packages"
        )
    return [], f"no Python interpreter found; set {ENV_PYTHON} or {ENV_SITE}"


def extend_sys_path(dirs: list[str]) -> list[str]:
    """Append the folders not already on sys.path; returns those added."""
    present = {os.path.normcase(os.path.abspath(p)) for p in sys.path if p}
    added: list[str] = []
    for d in dirs:
        key = os.path.normcase(os.path.abspath(d))
        if key not in present:
            sys.path.append(d)
            present.add(key)
            added.append(d)
    return added


def _apply() -> None:
    dirs, note = user_site_dirs(os.environ)
    added = extend_sys_path(dirs)
    os.environ[ENV_ADDED] = os.pathsep.join(added)
    os.environ[ENV_NOTE] = note


if getattr(sys, "frozen", False):
    _apply()
