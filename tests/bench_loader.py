"""Load a bench/ script as a module, so tests can drive the same code the benchmark runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def load_bench(script: str) -> ModuleType:
    """bench/<script>.py as the module `trtgui_bench_<script>`."""
    spec = importlib.util.spec_from_file_location(
        f"trtgui_bench_{script}", BENCH_DIR / f"{script}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
