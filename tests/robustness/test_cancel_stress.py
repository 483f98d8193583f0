"""Cancel a real TensorRT-RTX build (CPU) at 6 points of its progress trace; each time the build
raises BuildCancelled, leaves no file and no thread, and the next build succeeds.

The long version (20 points, the PP-OCRv4 detector) is bench/cancel_stress.py; this one uses a
generated conv net so it stays fast.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests import onnx_factory
from tests.bench_loader import load_bench


@pytest.fixture(scope="module")
def stress() -> ModuleType:
    return load_bench("cancel_stress")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return onnx_factory.dynamic_spatial(tmp_path_factory.mktemp("cancel_model")).path


@pytest.fixture(scope="module")
def points(stress: ModuleType, model: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    trace = stress.trace_build(model, tmp_path_factory.mktemp("trace"))
    assert len({p.phase for p in trace}) >= 5, "expected several TensorRT-RTX phases"
    return stress.pick_points(trace, 6)


@pytest.mark.parametrize("number", range(6))
def test_cancel_point(
    number: int, stress: ModuleType, model: Path, points: list, tmp_path: Path
) -> None:
    if number >= len(points):
        pytest.skip("the trace has fewer distinct points")
    point = points[number]
    outcome = stress.cancel_at(model, point, tmp_path)
    assert outcome.cancelled, outcome.error
    assert outcome.reached is not None and outcome.reached.path == point.path
    assert outcome.left_files == ()
    assert outcome.left_threads == ()
    assert outcome.os_thread_delta <= 0
    assert outcome.next_build_ok, outcome.error


def test_points_cover_the_trace(stress: ModuleType, points: list) -> None:
    phases = {p.phase for p in points}
    assert len(points) == 6 and len(phases) >= 4, [p.label() for p in points]
