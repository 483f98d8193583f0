"""Entry point of the bundled executable: one program, two names.

`trtgui` starts the desktop app; the same executable started as `trtgui-cli` (a symlink in
the bundle folder, made by build_bundle.sh) runs the command-line tool, so the bundle carries
one copy of the Python modules. `trtgui --cli ARGS` does the same where symlinks are lost.
`trtgui --bundle-info` prints, as JSON, where the bundle finds the packages it leaves out
(TensorRT, CUDA, ...) in the user's environment: the first thing to check when the app says
TensorRT is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys

# Packages the bundle leaves out and imports from the user's Python, then some it carries.
EXTERNAL = ("tensorrt", "tensorrt_rtx", "cuda", "pycuda", "torch", "modelopt")
CARRIED = ("PySide6", "onnx", "onnxruntime", "numpy", "PIL", "trtgui")
BACKENDS = ("tensorrt", "tensorrt_rtx")


def _where(name: str) -> dict[str, object]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        return {"found": False, "error": f"{type(exc).__name__}: {exc}"}
    if spec is None:
        return {"found": False}
    origin = spec.origin or next(iter(spec.submodule_search_locations or []), "")
    home = os.path.realpath(getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)))
    inside = os.path.realpath(str(origin)).startswith(home + os.sep) if origin else False
    return {"found": True, "location": str(origin), "in_bundle": inside}


def bundle_info() -> dict[str, object]:
    added = os.environ.get("TRTGUI_USER_SITE_ADDED", "")
    info: dict[str, object] = {
        "frozen": bool(getattr(sys, "frozen", False)),
        "python": ".".join(map(str, sys.version_info[:3])),
        "executable": sys.executable,
        "user_site_note": os.environ.get("TRTGUI_USER_SITE_NOTE", ""),
        "user_site_added": [p for p in added.split(os.pathsep) if p],
        "packages": {name: _where(name) for name in EXTERNAL + CARRIED},
    }
    imports: dict[str, str] = {}
    for name in BACKENDS:
        if not info["packages"][name].get("found"):  # type: ignore[index]
            continue
        try:
            module = importlib.import_module(name)
            imports[name] = f"ok {getattr(module, '__version__', '?')}"
        except Exception as exc:  # report any failure to load the user's install, never crash
            imports[name] = f"failed: {type(exc).__name__}: {exc}"
    info["imports"] = imports
    return info


def main() -> int:
    if sys.argv[1:2] == ["--bundle-info"]:
        print(json.dumps(bundle_info(), indent=2))
        return 0
    name = os.path.basename(sys.argv[0])
    if name.startswith("trtgui-cli") or sys.argv[1:2] == ["--cli"]:
        from trtgui.cli.main import main as cli_main

        args = sys.argv[2:] if sys.argv[1:2] == ["--cli"] else sys.argv[1:]
        return cli_main(args)
    from trtgui.gui.app import main as gui_main

    return gui_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
