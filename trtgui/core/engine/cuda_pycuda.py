"""`PyCudaApi`: the CUDA interface of `engine.cuda` over pycuda, for users who have it."""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType
from typing import Any

import numpy as np

from trtgui.core.engine.cuda import (
    CudaApi,
    DeviceBuffer,
    Event,
    PinnedBuffer,
    Step,
    Stream,
    for_tensor,
)
from trtgui.core.errors import BackendUnavailable, InferenceError


class PyCudaApi(CudaApi):
    """pycuda on device `device`, through its primary context (shared with TensorRT)."""

    name = "pycuda"

    def __init__(self, device: int = 0) -> None:
        super().__init__()
        try:
            import pycuda.driver as drv
        except ImportError as exc:
            raise BackendUnavailable(
                "pycuda is not installed (or cannot load the NVIDIA driver): "
                "pip install 'trtgui[pycuda]', or use cuda-python.",
                details=str(exc),
            ) from exc
        except OSError as exc:  # libcuda.so.1 missing
            raise BackendUnavailable(
                "pycuda cannot load the NVIDIA driver on this machine.", details=str(exc)
            ) from exc
        self._drv = drv
        self.device = device
        try:
            drv.init()
            self._ctx = drv.Device(device).retain_primary_context()
        except drv.Error as exc:
            raise BackendUnavailable(
                f"No usable NVIDIA GPU for pycuda: {exc}", details=repr(exc)
            ) from exc
        self._depth = threading.local()

    def _guard(self, what: str, name: str = "") -> contextlib.AbstractContextManager[None]:
        return _PyCudaGuard(self._drv, what + for_tensor(name))

    def alloc_device(self, nbytes: int, name: str = "") -> DeviceBuffer:
        with self._making() as owned, self._guard("mem_alloc", name):
            alloc = self._drv.mem_alloc(max(int(nbytes), 1))
            buf = DeviceBuffer(int(alloc), int(nbytes), name, handle=alloc)
            owned.device.append(buf)
            return buf

    def alloc_pinned(self, nbytes: int, name: str = "") -> PinnedBuffer:
        with self._making() as owned, self._guard("pagelocked_empty", name):
            array = self._drv.pagelocked_empty(max(int(nbytes), 1), np.uint8)
            buf = PinnedBuffer(array, int(nbytes), name, int(array.ctypes.data))
            owned.pinned.append(buf)
            return buf

    def _free_device(self, buf: DeviceBuffer) -> None:
        with self._guard("free", buf.name):
            buf.handle.free()

    def _free_pinned(self, buf: PinnedBuffer) -> None:
        with self._guard("free pinned", buf.name):
            base = buf.array.base
            if base is not None and hasattr(base, "free"):
                base.free()

    def create_stream(self) -> Stream:
        with self._making() as owned, self._guard("Stream"):
            s = self._drv.Stream()
            stream = Stream(s, int(s.handle))
            owned.streams.append(stream)
            return stream

    def create_event(self) -> Event:
        with self._making() as owned, self._guard("Event"):
            ev = Event(self._drv.Event())
            owned.events.append(ev)
            return ev

    def record(self, event: Event, stream: Stream) -> None:
        with self._guard("Event.record"):
            event.handle.record(stream.handle)

    def elapsed_ms(self, start: Event, end: Event) -> float:
        with self._guard("Event.time_since"):
            end.handle.synchronize()
            return float(end.handle.time_since(start.handle))

    def _copy_async(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> None:
        if to_device:
            with self._guard("memcpy_htod_async", name):
                self._drv.memcpy_htod_async(device.ptr, host.array[:nbytes], stream.handle)
        else:
            with self._guard("memcpy_dtoh_async", name):
                self._drv.memcpy_dtoh_async(host.array[:nbytes], device.ptr, stream.handle)

    def synchronize(self, stream: Stream) -> None:
        with self._guard("Stream.synchronize"):
            stream.handle.synchronize()

    def _step(self, what: str, fn: Any, *args: Any) -> Step:
        """`fn(*args)` bound once; pycuda's exception becomes an InferenceError naming it."""
        error = self._drv.Error

        def step() -> None:
            try:
                fn(*args)
            except error as exc:
                raise InferenceError(f"CUDA {what} failed: {exc}", details=repr(exc)) from exc

        return step

    def record_step(self, event: Event, stream: Stream) -> Step:
        return self._step("Event.record", event.handle.record, stream.handle)

    def _copy_step(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> Step:
        view = host.array[:nbytes]  # sliced once, not per run
        if to_device:
            what = "memcpy_htod_async" + for_tensor(name)
            return self._step(what, self._drv.memcpy_htod_async, device.ptr, view, stream.handle)
        what = "memcpy_dtoh_async" + for_tensor(name)
        return self._step(what, self._drv.memcpy_dtoh_async, view, device.ptr, stream.handle)

    def synchronize_step(self, stream: Stream) -> Step:
        return self._step("Stream.synchronize", stream.handle.synchronize)

    def push_context(self) -> None:
        # pycuda contexts are per thread: push on every entry, pop on exit (nesting counted).
        depth = getattr(self._depth, "n", 0)
        with self._guard("Context.push"):
            self._ctx.push()
        self._depth.n = depth + 1

    def pop_context(self) -> None:
        depth = getattr(self._depth, "n", 0)
        if depth <= 0:
            return
        with self._guard("Context.pop"):
            self._drv.Context.pop()
        self._depth.n = depth - 1

    def _destroy_stream(self, stream: Stream) -> None:
        return None  # pycuda streams are released with their Python object

    def _destroy_event(self, event: Event) -> None:
        return None

    def _shutdown(self) -> None:
        self._ctx = None


class _PyCudaGuard(contextlib.AbstractContextManager[None]):
    """Turn pycuda's exceptions into InferenceError naming the call and tensor."""

    def __init__(self, drv: Any, what: str) -> None:
        self.drv = drv
        self.what = what

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and isinstance(exc, self.drv.Error):
            raise InferenceError(f"CUDA {self.what} failed: {exc}", details=repr(exc)) from exc
