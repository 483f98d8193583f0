"""Build progress: TensorRT's `IProgressMonitor` callbacks → `ProgressEvent`s, and cancel.

`ProgressTracker` is plain Python (testable without TensorRT): it keeps the stack of open
phases, calls the user's `on_progress` with an immutable snapshot, and answers "keep going?"
from a `threading.Event`. `make_progress_monitor(trt, tracker)` wraps it in the backend's
`IProgressMonitor` subclass. TensorRT 8.6 has no `IProgressMonitor`: there `LogProgress`
reads the phases from the build log's VERBOSE lines instead. Nothing here ever raises into
TensorRT: exceptions from the user's callback are stored on the tracker (`callback_errors`)
for the caller to report.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PhaseProgress:
    """One open phase: `step` steps of `num_steps` are done; depth 0 = top-level phase."""

    name: str
    step: int
    num_steps: int
    depth: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.num_steps) if self.num_steps > 0 else 0.0


@dataclass(frozen=True)
class ProgressEvent:
    """The phases open at one moment, outermost first (empty once the build is done)."""

    phases: tuple[PhaseProgress, ...]

    @property
    def current(self) -> PhaseProgress | None:
        """The innermost open phase."""
        return self.phases[-1] if self.phases else None

    @property
    def fraction(self) -> float:
        """Overall progress 0..1 estimated from the nested phases (outer steps weigh most)."""
        total = 0.0
        weight = 1.0
        for phase in self.phases:
            if phase.num_steps <= 0:
                break
            total += weight * min(phase.step, phase.num_steps) / phase.num_steps
            weight /= phase.num_steps
        return min(1.0, total)

    def describe(self) -> str:
        """ "Building engine › Timing tactics (2/3)"."""
        parts = [p.name for p in self.phases[:-1]]
        if self.current is not None:
            parts.append(f"{self.current.name} ({self.current.step}/{self.current.num_steps})")
        return " › ".join(parts)


ProgressCallback = Callable[[ProgressEvent], None]


class ProgressTracker:
    """The state behind a progress monitor: open phases, cancel, and callback errors.

    Thread-safe: TensorRT may call from its own threads. The user's callback runs outside
    the lock, so it may take its time (it should not: it is on TensorRT's thread).
    """

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self._on_progress = on_progress
        self.cancel = cancel if cancel is not None else threading.Event()
        # Set by the build itself, not the user: TensorRT stops because its result will not be
        # kept (the precision check, running beside it, refused the converted model).
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._phases: list[PhaseProgress] = []
        self.callback_errors: list[BaseException] = []
        self.steps_seen = 0
        self.phases_seen = 0

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def snapshot(self) -> ProgressEvent:
        with self._lock:
            return ProgressEvent(tuple(self._phases))

    def phase_start(self, name: str, parent: str | None, num_steps: int) -> None:
        with self._lock:
            self.phases_seen += 1
            # TensorRT names the parent; drop phases that were left open deeper than it.
            if parent:
                for index in range(len(self._phases) - 1, -1, -1):
                    if self._phases[index].name == parent:
                        del self._phases[index + 1 :]
                        break
            else:
                self._phases.clear()
            self._phases.append(PhaseProgress(name, 0, int(num_steps), len(self._phases)))
            event = ProgressEvent(tuple(self._phases))
        self._emit(event)

    def step_complete(self, name: str, step: int) -> bool:
        """Record step `step` (0-based, just finished) of `name`; False asks TensorRT to stop."""
        with self._lock:
            self.steps_seen += 1
            for index in range(len(self._phases) - 1, -1, -1):
                phase = self._phases[index]
                if phase.name == name:
                    self._phases[index] = PhaseProgress(
                        name, int(step) + 1, phase.num_steps, phase.depth
                    )
                    break
            event = ProgressEvent(tuple(self._phases))
        self._emit(event)
        return not (self.cancel.is_set() or self.stop.is_set())

    def next_phase(self, parent: str, parent_step: int, name: str, num_steps: int) -> None:
        """In one event: `parent_step` steps of `parent` done, its open child replaced by a new
        phase `name` (so the overall fraction never dips between the two)."""
        with self._lock:
            self.phases_seen += 1
            for index in range(len(self._phases) - 1, -1, -1):
                p = self._phases[index]
                if p.name == parent:
                    del self._phases[index + 1 :]
                    self._phases[index] = PhaseProgress(p.name, parent_step, p.num_steps, p.depth)
                    break
            self._phases.append(PhaseProgress(name, 0, int(num_steps), len(self._phases)))
            event = ProgressEvent(tuple(self._phases))
        self._emit(event)

    def phase_finish(self, name: str) -> None:
        with self._lock:
            for index in range(len(self._phases) - 1, -1, -1):
                if self._phases[index].name == name:
                    del self._phases[index:]
                    break
            event = ProgressEvent(tuple(self._phases))
        self._emit(event)

    def _emit(self, event: ProgressEvent) -> None:
        if self._on_progress is None:
            return
        try:
            self._on_progress(event)
        except BaseException as exc:  # never into TensorRT; the build reports it afterwards
            with self._lock:
                if len(self.callback_errors) < 10:
                    self.callback_errors.append(exc)


@functools.cache
def _monitor_class(trt: Any) -> type:
    """The `IProgressMonitor` subclass for one TensorRT module (cached per module)."""

    class _Monitor(trt.IProgressMonitor):  # type: ignore[misc]
        def __init__(self, tracker: ProgressTracker) -> None:
            trt.IProgressMonitor.__init__(self)
            self.tracker = tracker

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            try:
                self.tracker.phase_start(phase_name, parent_phase, num_steps)
            except BaseException as exc:  # never raise into TensorRT
                self.tracker.callback_errors.append(exc)

        def step_complete(self, phase_name: str, step: int) -> bool:
            try:
                return self.tracker.step_complete(phase_name, step)
            except BaseException as exc:  # never raise into TensorRT
                self.tracker.callback_errors.append(exc)
                return not self.tracker.cancelled

        def phase_finish(self, phase_name: str) -> None:
            try:
                self.tracker.phase_finish(phase_name)
            except BaseException as exc:  # never raise into TensorRT
                self.tracker.callback_errors.append(exc)

    _Monitor.__name__ = "TrtGuiProgressMonitor"
    return _Monitor


def make_progress_monitor(trt: Any, tracker: ProgressTracker) -> Any | None:
    """A `trt.IProgressMonitor` that feeds `tracker` (keep a reference while building), or
    None where TensorRT has none (8.6: use `LogProgress`)."""
    if not hasattr(trt, "IProgressMonitor"):
        return None
    return _monitor_class(trt)(tracker)


class LogProgress:
    """Build progress read from TensorRT's log, for TensorRT without `IProgressMonitor` (8.6).

    Feed it every log line (VERBOSE included) with `feed(level, message)`. It drives
    `tracker` through one top phase of three stages, recognised by lines TensorRT 8.6 logs:
    optimizing the graph (from the start), timing kernels ("Computing costs for <layer>", one
    step each, out of the layer count of the last "After …: N layers" line, the network after
    fusion, per profile) and assigning memory and
    writing the engine ("Formats and tactics selection completed"), done at "Engine
    generation completed". Lines it does not know change nothing, so another TensorRT's log
    at worst leaves the bar on its first stage.
    """

    TOP = "Building the engine"
    STAGES = (
        "Optimizing the network",
        "Timing kernels",
        "Assigning memory and writing the engine",
    )

    def __init__(self, tracker: ProgressTracker, num_layers: int, num_profiles: int = 1) -> None:
        self._tracker = tracker
        # Fusion makes the timed layers fewer than the network's, calibration builds twice:
        # the count is an estimate, and the bar never reaches the end before TensorRT does.
        self._profiles = max(1, int(num_profiles))
        self._timing_steps = max(1, int(num_layers)) * self._profiles
        self._stage = -1
        self._stage_open = False
        self._timed = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        self._tracker.phase_start(self.TOP, None, len(self.STAGES))
        self._enter(0)

    def _enter(self, stage: int) -> None:
        """Open `stage`, the stages before it done; called with the lock held or before any
        line arrives. The stage left is first shown complete, so the bar never goes back."""
        if self._stage_open and self._stage >= 0:
            steps = self._timing_steps if self._stage == 1 else 1
            self._tracker.step_complete(self.STAGES[self._stage], steps - 1)
        steps = self._timing_steps if stage == 1 else 1
        self._tracker.next_phase(self.TOP, stage, self.STAGES[stage], steps)
        self._stage, self._stage_open = stage, True

    def side_phase(self, name: str, steps: int) -> None:
        """A phase of trtgui's own inside the build (INT8 calibration batches): shown under
        the top phase; the next timing line reopens timing."""
        with self._lock:
            if self._stage_open:
                self._tracker.phase_finish(self.STAGES[self._stage])
            self._stage_open = False
            self._tracker.phase_start(name, self.TOP, steps)

    def feed(self, level: int, message: str) -> None:
        if message.startswith("After ") and message.endswith(" layers") and self._timed == 0:
            # "After concat removal: 52 layers": the layers TensorRT will time (seen on the
            # H200 with 8.6: 52 such lines followed for EfficientNet-Lite0's 115 ONNX layers).
            count = message.rsplit(":", 1)[-1].split()[0]
            if count.isdigit() and int(count) > 0:
                with self._lock:
                    self._timing_steps = int(count) * self._profiles
        elif "Computing costs for" in message:
            with self._lock:
                if self._stage != 1 or not self._stage_open:
                    self._enter(1)
                self._timed += 1
                step = min(self._timed, self._timing_steps - 1)
            self._tracker.step_complete(self.STAGES[1], step - 1)
        elif "Formats and tactics selection completed" in message:
            with self._lock:
                self._enter(2)
        elif "Calibration completed" in message:
            with self._lock:
                self._timed = 0  # the INT8 engine is timed again after the calibration one
        elif "Engine generation completed" in message:
            with self._lock:
                if self._stage < 2:
                    self._enter(2)
                self._tracker.step_complete(self.STAGES[2], 0)
                self._tracker.step_complete(self.TOP, len(self.STAGES) - 1)
                self._tracker.phase_finish(self.STAGES[2])
                self._stage_open = False
