"""Latency statistics for a runner: warm-up, iterations or a duration, and trtexec's names.

`measure_latency(run, ...)` warms up for a time in milliseconds (trtexec's `--warmUp`), then
calls `run()` repeatedly and times each call on the host ("Latency"); when a `phases` callable
is given (TrtRunner: `lambda: runner.last_timings.as_phases()`), the per-run CUDA-event times
are summarised too under the names trtexec prints: "H2D Latency", "GPU Compute Time", "D2H
Latency". Percentiles and the median are computed the way trtexec computes them, so the
numbers can be set side by side. Text lines use trtexec's names; `to_dict()` uses the same
names in snake_case (`gpu_compute_time_ms`), for scripts.

`time_runner(runner, feeds, ...)` is what `trtgui-cli bench` times: a TensorRT engine as
trtexec times it (inputs staged once in pinned buffers, each run only H2D copies +
`execute_async_v3` + D2H copies on one stream, `TrtRunner.staged`), any other runner by
`run(feeds)`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trtgui.core.errors import InferenceError

if TYPE_CHECKING:
    import numpy as np

    from trtgui.core.engine.runners import Runner

PERCENTILES = (90, 95, 99)


@dataclass(frozen=True)
class Stats:
    """Summary of a list of times in milliseconds."""

    count: int
    min: float
    max: float
    mean: float
    median: float
    p90: float
    p95: float
    p99: float
    std: float

    def to_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "median": self.median,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "std": self.std,
        }

    def line(self, name: str) -> str:
        """trtexec's layout: 'Latency: min = ... ms, max = ..., mean = ..., median = ...'."""
        return (
            f"{name}: min = {self.min:.5g} ms, max = {self.max:.5g} ms, "
            f"mean = {self.mean:.5g} ms, median = {self.median:.5g} ms, "
            f"percentile(90%) = {self.p90:.5g} ms, percentile(95%) = {self.p95:.5g} ms, "
            f"percentile(99%) = {self.p99:.5g} ms"
        )


def trtexec_percentile(sorted_values: Sequence[float], percentile: float) -> float:
    """trtexec's findPercentile: drop the top (100 - p)% (rounded down), take the largest left."""
    if not sorted_values:
        return math.nan
    if not 0 <= percentile <= 100:
        raise ValueError("percentile must be within 0..100")
    n = len(sorted_values)
    # (100 - p) * n / 100 in exact steps: 1 - 0.9 in binary floating point is below 0.1.
    exclude = math.floor(round((100 - percentile) * n, 9) / 100)
    return float(sorted_values[max(n - 1 - exclude, 0)])


def summarize(values_ms: Sequence[float]) -> Stats:
    """Stats of `values_ms` (milliseconds). Empty input gives NaNs and count 0."""
    v = sorted(float(x) for x in values_ms)
    n = len(v)
    if n == 0:
        nan = math.nan
        return Stats(0, nan, nan, nan, nan, nan, nan, nan, nan)
    mean = sum(v) / n
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    std = math.sqrt(sum((x - mean) ** 2 for x in v) / n)
    return Stats(
        count=n,
        min=v[0],
        max=v[-1],
        mean=mean,
        median=median,
        p90=trtexec_percentile(v, 90),
        p95=trtexec_percentile(v, 95),
        p99=trtexec_percentile(v, 99),
        std=std,
    )


def snake_name(name: str) -> str:
    """trtexec's "GPU Compute Time" as a JSON key: "gpu_compute_time"."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class LatencyStats:
    latency: Stats  # host wall time per run() ("Latency")
    throughput_qps: float  # runs per second over the timed loop ("Throughput")
    iterations: int
    warmup_ms: float  # the warm-up time asked for
    total_s: float  # "Total Host Walltime"
    phases: dict[str, Stats] = field(default_factory=dict)  # "H2D Latency", ...
    batch: int = 1
    warmup_runs: int = 0  # how many runs the warm-up took

    def to_dict(self) -> dict[str, Any]:
        """snake_case keys ending in their unit: latency_ms, gpu_compute_time_ms, ..."""
        return {
            "throughput_qps": self.throughput_qps,
            "latency_ms": self.latency.to_dict(),
            **{f"{snake_name(name)}_ms": s.to_dict() for name, s in self.phases.items()},
            "total_host_walltime_s": self.total_s,
            "iterations": self.iterations,
            "warmup_ms": self.warmup_ms,
            "warmup_runs": self.warmup_runs,
            "batch": self.batch,
        }

    def lines(self) -> list[str]:
        """trtexec-style report lines."""
        out = [f"Throughput: {self.throughput_qps:.5g} qps", self.latency.line("Latency")]
        out += [s.line(name) for name, s in self.phases.items()]
        out.append(f"Total Host Walltime: {self.total_s:.5g} s ({self.iterations} iterations)")
        return out


# trtexec's --warmUp default, in milliseconds.
DEFAULT_WARMUP_MS = 200.0


def measure_latency(
    run: Callable[[], object],
    warmup_ms: float = DEFAULT_WARMUP_MS,
    iterations: int = 100,
    duration: float | None = None,
    phases: Callable[[], Mapping[str, float] | None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    batch: int = 1,
) -> LatencyStats:
    """Run `run` untimed for `warmup_ms` milliseconds (as trtexec's --warmUp does), then time
    `iterations` calls of it (or as many as fit in `duration` seconds).

    `phases`, called after each timed run, returns that run's named times in ms.
    """
    # Written as "not in range" so that NaN, which fails every comparison, is refused too.
    if not 0 <= warmup_ms < math.inf:
        raise InferenceError("The warm-up must be a number of milliseconds, 0 or more.")
    if iterations < 1:
        raise InferenceError("Time at least one iteration.")
    if duration is not None and not 0 < duration < math.inf:
        raise InferenceError("The duration must be a positive number of seconds.")
    warmup_runs = 0
    warmup_start = clock()
    while (clock() - warmup_start) * 1000.0 < warmup_ms:
        run()
        warmup_runs += 1
    times: list[float] = []
    phase_times: dict[str, list[float]] = {}
    start = clock()
    while True:
        t0 = clock()
        run()
        t1 = clock()
        times.append((t1 - t0) * 1000.0)
        if phases is not None:
            for name, ms in (phases() or {}).items():
                phase_times.setdefault(name, []).append(float(ms))
        if duration is not None:
            if t1 - start >= duration:
                break
        elif len(times) >= iterations:
            break
    total = clock() - start
    return LatencyStats(
        latency=summarize(times),
        throughput_qps=len(times) / total if total > 0 else math.inf,
        iterations=len(times),
        warmup_ms=warmup_ms,
        warmup_runs=warmup_runs,
        total_s=total,
        phases={name: summarize(v) for name, v in phase_times.items()},
        batch=batch,
    )


def time_runner(
    runner: Runner,
    feeds: Mapping[str, np.ndarray],
    warmup_ms: float = DEFAULT_WARMUP_MS,
    iterations: int = 100,
    duration: float | None = None,
    batch: int = 1,
) -> LatencyStats:
    """Latency of `runner` on `feeds`. A TrtRunner is timed as trtexec times an engine: the
    inputs are staged once, and each timed run is the H2D copies, `execute_async_v3` and the
    D2H copies on one stream with CUDA events between them (the H2D / GPU compute / D2H split)
    and a wait for the stream. Other runners are timed by `runner.run(feeds)`."""
    from trtgui.core.engine.trt_runner import TrtRunner

    if not isinstance(runner, TrtRunner):
        return measure_latency(
            lambda: runner.run(feeds),
            warmup_ms=warmup_ms,
            iterations=iterations,
            duration=duration,
            batch=batch,
        )
    with runner.staged(feeds) as replay:
        return measure_latency(
            replay.run,
            warmup_ms=warmup_ms,
            iterations=iterations,
            duration=duration,
            phases=replay.phases,
            batch=batch,
        )
