"""Latency statistics on known data; the measuring loop with a fake clock."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from trtgui.core.engine.bench import measure_latency, snake_name, summarize, trtexec_percentile
from trtgui.core.errors import InferenceError


def test_summarize_one_to_hundred() -> None:
    s = summarize([float(x) for x in range(100, 0, -1)])  # order must not matter
    assert s.count == 100
    assert s.min == 1 and s.max == 100
    assert s.mean == pytest.approx(50.5)
    assert s.median == pytest.approx(50.5)  # even count: mean of the two middle values
    assert (s.p90, s.p95, s.p99) == (90, 95, 99)
    assert s.std == pytest.approx(math.sqrt((100**2 - 1) / 12))


def test_trtexec_percentile_rules() -> None:
    v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert trtexec_percentile(v, 90) == 9.0  # exclude int(0.1 * 10) = 1 from the top
    assert trtexec_percentile(v, 99) == 10.0  # int(0.01 * 10) = 0 excluded
    assert trtexec_percentile(v, 100) == 10.0
    assert trtexec_percentile(v, 0) == 1.0
    assert math.isnan(trtexec_percentile([], 50))
    with pytest.raises(ValueError):
        trtexec_percentile(v, 101)


def test_odd_median_and_empty() -> None:
    assert summarize([3.0, 1.0, 2.0]).median == 2.0
    assert math.isnan(summarize([]).mean)


class FakeClock:
    """Each run() advances time by the next step; reading the clock costs nothing."""

    def __init__(self, steps_ms: list[float]) -> None:
        self.now = 0.0
        self.steps = list(steps_ms)
        self.calls = 0

    def __call__(self) -> float:
        return self.now

    def run(self) -> None:
        self.calls += 1
        self.now += self.steps[(self.calls - 1) % len(self.steps)] / 1000.0


def test_measure_iterations_with_fake_clock() -> None:
    clock = FakeClock([2.0, 4.0])
    phases = iter([{"H2D Latency": 0.5, "GPU Compute Time": 1.0, "D2H Latency": 0.25}] * 10)
    # 7 ms of warm-up (milliseconds, as trtexec's --warmUp): runs of 2, 4, 2 ms end at 8 ms,
    # the first time the elapsed warm-up reaches 7 ms, so 3 warm-up runs.
    stats = measure_latency(
        clock.run, warmup_ms=7.0, iterations=10, phases=lambda: next(phases), clock=clock
    )
    assert clock.calls == 13  # 3 warm-up + 10 timed
    assert stats.iterations == 10 and stats.warmup_ms == 7.0 and stats.warmup_runs == 3
    # warm-up used steps 1-3 (2, 4, 2), so timed runs start on a 4 ms step
    assert stats.latency.mean == pytest.approx(3.0)
    assert stats.latency.min == pytest.approx(2.0) and stats.latency.max == pytest.approx(4.0)
    assert stats.throughput_qps == pytest.approx(10 / 0.030)
    assert set(stats.phases) == {"H2D Latency", "GPU Compute Time", "D2H Latency"}
    assert stats.phases["GPU Compute Time"].mean == 1.0
    lines = stats.lines()
    assert lines[0].startswith("Throughput: ")
    assert lines[1].startswith("Latency: min = ")
    assert any(line.startswith("GPU Compute Time: ") for line in lines)
    d = stats.to_dict()
    assert d["latency_ms"]["p99"] == pytest.approx(4.0)
    assert d["throughput_qps"] == pytest.approx(10 / 0.030)
    assert d["gpu_compute_time_ms"]["mean"] == 1.0
    assert set(d) >= {"h2d_latency_ms", "d2h_latency_ms", "total_host_walltime_s"}
    assert (d["warmup_ms"], d["warmup_runs"]) == (7.0, 3)
    assert json.loads(json.dumps(d)) == d  # plain JSON


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in (key, *_keys(item))]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


def test_to_dict_keys_are_snake_case_nested_too() -> None:
    clock = FakeClock([1.0])
    stats = measure_latency(
        clock.run,
        warmup_ms=0,
        iterations=3,
        phases=lambda: {"H2D Latency": 0.1, "GPU Compute Time": 0.5, "D2H Latency": 0.1},
        clock=clock,
    )
    keys = _keys(stats.to_dict())
    assert len(keys) > 40  # top level and every nested summary were walked
    assert [k for k in keys if not re.match(r"^[a-z][a-z0-9_]*$", k)] == []
    assert snake_name("GPU Compute Time") == "gpu_compute_time"


def test_warmup_is_time_not_runs() -> None:
    clock = FakeClock([2.0])
    stats = measure_latency(clock.run, warmup_ms=10.0, iterations=1, clock=clock)
    # 10 ms / 2 ms per run = 5 warm-up runs, then 1 timed run.
    assert (stats.warmup_runs, clock.calls) == (5, 6)
    clock = FakeClock([2.0])
    assert measure_latency(clock.run, warmup_ms=0, iterations=1, clock=clock).warmup_runs == 0


def test_measure_duration() -> None:
    clock = FakeClock([10.0])
    stats = measure_latency(clock.run, warmup_ms=0, duration=0.095, clock=clock)
    assert stats.iterations == 10  # the run that crosses 95 ms ends the loop
    assert stats.total_s == pytest.approx(0.1)


def test_measure_rejects_bad_arguments() -> None:
    with pytest.raises(InferenceError):
        measure_latency(lambda: None, iterations=0)
    with pytest.raises(InferenceError):
        measure_latency(lambda: None, duration=-1)
    for warmup in (-1.0, math.nan, math.inf):
        with pytest.raises(InferenceError, match="milliseconds"):
            measure_latency(lambda: None, warmup_ms=warmup)
    with pytest.raises(InferenceError, match="seconds"):
        measure_latency(lambda: None, duration=math.inf)
