"""GPU tests: skipped (with the reason) on machines without a usable NVIDIA GPU."""

from __future__ import annotations

import pytest

from trtgui.core import gpus


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    report = gpus.gpu_report()
    if report.has_gpu:
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA GPU: {report.reason}")
    for item in items:
        if "tests/gpu" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
