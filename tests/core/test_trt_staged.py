"""TrtRunner.staged and bench.time_runner without a GPU: what one timed replay does.

The CUDA layer and the engine here are test doubles (`HostMemoryCudaStandIn`,
`AffineEngineStandIn`): NOT CUDA and NOT TensorRT, plain host memory moved with memmove, so the
runner's staging logic (inputs copied once, each replay only copies + launch + events + wait,
nothing allocated per run) is checked on any machine. The same path runs on the H200 with real
engines in tests/gpu/test_trt86_classifier.py.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import Any

import numpy as np
import pytest

from trtgui.core.engine.bench import time_runner
from trtgui.core.engine.cuda import CudaApi, DeviceBuffer, Event, PinnedBuffer, Step, Stream
from trtgui.core.engine.trt_runner import TrtRunner
from trtgui.core.errors import InferenceError
from trtgui.core.tensors import TensorSpec


class HostMemoryCudaStandIn(CudaApi):
    """NOT CUDA: "device" memory is host memory, copies are memmove at once, events read the
    host clock. Logs every operation, so tests see what one replay does."""

    name = "host-memory stand-in"

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.allocations = 0
        self._keep: dict[int, np.ndarray] = {}

    def alloc_device(self, nbytes: int, name: str = "") -> DeviceBuffer:
        with self._making() as owned:
            arr = np.zeros(max(nbytes, 1), np.uint8)
            self._keep[arr.ctypes.data] = arr
            self.allocations += 1
            buf = DeviceBuffer(arr.ctypes.data, nbytes, name)
            owned.device.append(buf)
            return buf

    def alloc_pinned(self, nbytes: int, name: str = "") -> PinnedBuffer:
        with self._making() as owned:
            arr = np.zeros(max(nbytes, 1), np.uint8)
            self.allocations += 1
            buf = PinnedBuffer(arr, nbytes, name, arr.ctypes.data)
            owned.pinned.append(buf)
            return buf

    def _free_device(self, buf: DeviceBuffer) -> None:
        self._keep.pop(buf.ptr, None)

    def _free_pinned(self, buf: PinnedBuffer) -> None:
        return None

    def create_stream(self) -> Stream:
        return Stream(None, 1)

    def create_event(self) -> Event:
        return Event([0.0])

    def record(self, event: Event, stream: Stream) -> None:
        self.log.append("record")
        event.handle[0] = time.perf_counter()

    def elapsed_ms(self, start: Event, end: Event) -> float:
        return float((end.handle[0] - start.handle[0]) * 1000.0)

    def _copy_async(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> None:
        self.log.append(("h2d " if to_device else "d2h ") + name)
        dst, src = (device.ptr, host.ptr) if to_device else (host.ptr, device.ptr)
        ctypes.memmove(dst, src, nbytes)

    def synchronize(self, stream: Stream) -> None:
        self.log.append("sync")

    def record_step(self, event: Event, stream: Stream) -> Step:
        return lambda: self.record(event, stream)

    def _copy_step(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> Step:
        return lambda: self._copy_async(device, host, nbytes, stream, to_device, name)

    def synchronize_step(self, stream: Stream) -> Step:
        return lambda: self.synchronize(stream)

    def push_context(self) -> None:
        return None

    def pop_context(self) -> None:
        return None

    def _destroy_stream(self, stream: Stream) -> None:
        return None

    def _destroy_event(self, event: Event) -> None:
        return None


class AffineEngineStandIn:
    """NOT TensorRT: an EngineBinding computing y = 2 * x + 1 from the bound "device"
    addresses of the host-memory stand-in. `fail` makes the launch return False."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.addresses: dict[str, int] = {}
        self.rows = 0
        self.fail = False

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return (TensorSpec("x", "float32", (None, 4)),)

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return (TensorSpec("y", "float32", (None, 4), is_input=False),)

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        self.rows = shape[0]
        return len(shape) == 2 and shape[1] == 4

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return (self.rows, 4)

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = address
        return True

    def execute_async_v3(self, stream_address: int) -> bool:
        self.log.append("execute")
        if self.fail:
            return False
        n = self.rows * 4
        x = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addresses["x"]))
        y = np.ctypeslib.as_array((ctypes.c_float * n).from_address(self.addresses["y"]))
        y[:] = 2 * x + 1
        return True

    def close(self) -> None:
        self.addresses.clear()


@pytest.fixture
def parts() -> Any:
    cuda = HostMemoryCudaStandIn()
    engine = AffineEngineStandIn(cuda.log)
    runner = TrtRunner.from_binding(engine, cuda)
    yield cuda, engine, runner
    runner.close()
    cuda.close()


X = np.arange(12, dtype=np.float32).reshape(3, 4)


def test_replay_is_copies_launch_events_and_a_wait_nothing_more(parts: Any) -> None:
    cuda, _engine, runner = parts
    expected = 2 * X + 1  # the stand-in's formula, by hand
    np.testing.assert_array_equal(runner.run({"x": X})["y"], expected)
    with runner.staged({"x": X}) as replay:
        allocated = cuda.allocations
        cuda.log.clear()
        replay()
        replay()
        one = ["record", "h2d x", "record", "execute", "record", "d2h y", "record", "sync"]
        assert cuda.log == one * 2
        assert replay.step_count == len(one)
        assert cuda.allocations == allocated  # nothing allocated per replay
        np.testing.assert_array_equal(replay.outputs()["y"], expected)
        assert set(replay.phases()) == {"H2D Latency", "GPU Compute Time", "D2H Latency"}
        assert all(ms >= 0 for ms in replay.phases().values())


def test_inputs_are_staged_once(parts: Any) -> None:
    _cuda, _engine, runner = parts
    x = X.copy()
    with runner.staged({"x": x}) as replay:
        x[:] = -1  # the caller's array changes after staging: the replay still sends the copy
        replay()
        np.testing.assert_array_equal(replay.outputs()["y"], 2 * X + 1)


def test_runner_is_held_while_staged(parts: Any) -> None:
    _cuda, _engine, runner = parts
    seen: list[float] = []
    with runner.staged({"x": X}) as replay:
        with pytest.raises(InferenceError, match="Close the staged run"):
            runner.run({"x": X})
        other = threading.Thread(target=lambda: seen.append(float(runner.run({"x": X})["y"][0, 0])))
        other.start()
        other.join(0.2)
        assert not seen  # another thread waits for the staged run to close
        replay()
    other.join(5)
    assert seen == [1.0]
    with pytest.raises(InferenceError, match="closed"):
        replay()


def test_failed_launch_and_closing_inside(parts: Any) -> None:
    _cuda, engine, runner = parts
    replay = runner.staged({"x": X})
    engine.fail = True
    with pytest.raises(InferenceError, match="execute_async_v3 returned False"):
        replay()
    runner.close()  # closes the staged run first rather than waiting for itself
    with pytest.raises(InferenceError, match="closed"):
        replay()


def test_time_runner_times_the_staged_replay(parts: Any) -> None:
    cuda, _engine, runner = parts
    runner.run({"x": X})
    allocated = cuda.allocations
    cuda.log.clear()
    stats = time_runner(runner, {"x": X}, warmup_ms=0, iterations=25, batch=3)
    assert stats.iterations == 25 and stats.batch == 3
    assert cuda.log.count("execute") == 25
    assert cuda.log.count("h2d x") == 25 and cuda.log.count("d2h y") == 25
    assert cuda.allocations == allocated
    assert set(stats.phases) == {"H2D Latency", "GPU Compute Time", "D2H Latency"}
    assert stats.phases["GPU Compute Time"].count == 25
    runner.run({"x": X})  # the runner is free again afterwards
