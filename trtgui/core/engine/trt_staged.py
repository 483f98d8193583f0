"""`StagedRun`: one TensorRT inference set up once and replayed, timed the way trtexec times it.

trtexec's inputs sit in pinned host buffers before timing starts; each iteration then queues
the H2D copies, `execute_async_v3` and the D2H copies on one stream, with CUDA events between
them ("H2D Latency", "GPU Compute Time", "D2H Latency"), and waits for the stream.
`TrtRunner.run` does more per call: it checks the caller's arrays, copies them into the pinned
buffers and copies the outputs out into fresh arrays, which predictions need and an engine
benchmark should not time. `TrtRunner.staged(feeds)` does that work once; each call of the
`StagedRun` replays only the queued steps, bound in advance (no lookups, no allocations),
while it holds the runner (its lock, and the CUDA context current on the staging thread).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from trtgui.core.engine.cuda import ClosesOnExit, Event, Step
from trtgui.core.errors import InferenceError


@dataclass(frozen=True)
class RunTimings:
    """One run, timed with CUDA events on the stream; names as trtexec prints them."""

    h2d_ms: float
    compute_ms: float
    d2h_ms: float
    host_ms: float  # wall time of run() on the host (NaN for a staged replay: its caller times it)

    def as_phases(self) -> dict[str, float]:
        return {
            "H2D Latency": self.h2d_ms,
            "GPU Compute Time": self.compute_ms,
            "D2H Latency": self.d2h_ms,
        }


def execute_step(execute: Callable[[int], bool], stream_address: int) -> Step:
    """The engine's launch on the stream, as a step; TensorRT's False becomes an error."""

    def step() -> None:
        if not execute(stream_address):
            raise InferenceError(
                "TensorRT failed to run the engine (execute_async_v3 returned False); "
                "see the log for its error."
            )

    return step


class StagedRun(ClosesOnExit):
    """Replays one staged inference: `run()` (or calling the object) queues and waits for it.

    Made by `TrtRunner.staged(feeds)`; use it on the thread that made it and close it (`with`)
    before the runner runs anything else.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        events: Sequence[Event],
        elapsed_ms: Callable[[Event, Event], float],
        read_outputs: Callable[[], dict[str, np.ndarray]],
        release: Callable[[], None],
    ) -> None:
        self._steps = tuple(steps)
        self._events = tuple(events)
        self._elapsed_ms = elapsed_ms
        self._read_outputs = read_outputs
        self._release: Callable[[], None] | None = release
        self.runs = 0

    @property
    def step_count(self) -> int:
        """How many calls one replay makes (2 + inputs + outputs + 4 events + 1 wait)."""
        return len(self._steps)

    def __call__(self) -> None:
        self.run()

    def run(self) -> None:
        """H2D copies, execute_async_v3, D2H copies, events between them; waits for the stream."""
        if self._release is None:
            raise InferenceError("This staged run is closed; stage the inputs again.")
        for step in self._steps:
            step()
        self.runs += 1

    def timings(self) -> RunTimings:
        """The last replay's CUDA-event times."""
        if not self.runs:
            raise InferenceError("Nothing was replayed yet.")
        e = self._events
        return RunTimings(
            h2d_ms=self._elapsed_ms(e[0], e[1]),
            compute_ms=self._elapsed_ms(e[1], e[2]),
            d2h_ms=self._elapsed_ms(e[2], e[3]),
            host_ms=math.nan,
        )

    def phases(self) -> dict[str, float]:
        """`timings()` under trtexec's names, for `bench.measure_latency(phases=...)`."""
        return self.timings().as_phases()

    def outputs(self) -> dict[str, np.ndarray]:
        """Copies of the last replay's outputs, by name."""
        if not self.runs:
            raise InferenceError("Nothing was replayed yet.")
        return self._read_outputs()

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
