"""`CudaPythonApi`: the CUDA interface of `engine.cuda` over NVIDIA's cuda-python runtime
bindings (`cuda.bindings.runtime`), which install from wheels and import without a GPU."""

from __future__ import annotations

import ctypes
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

# CUDA error codes that mean "no usable GPU/driver here" rather than a bug.
_NO_GPU_CODES = {34, 35, 100, 999}  # stub library, insufficient driver, no device, unknown


class CudaPythonApi(CudaApi):
    """cuda-python runtime API on device `device` (its primary context, like TensorRT)."""

    name = "cuda-python"

    def __init__(self, device: int = 0) -> None:
        super().__init__()
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            try:
                from cuda import cudart  # cuda-python < 12.6
            except ImportError as exc:
                raise BackendUnavailable(
                    "cuda-python is not installed: pip install 'trtgui[cuda]'", details=str(exc)
                ) from exc
        self._rt = cudart
        self.device = device
        self._call("cudaSetDevice", device)
        # Touch the context now so "no GPU" surfaces here, not at the first copy.
        self._call("cudaFree", 0)

    def _call(self, fn_name: str, *args: Any, what: str = "") -> Any:
        result = getattr(self._rt, fn_name)(*args)
        err, rest = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
        if int(err) != 0:
            self._fail(fn_name, err, args, what)
        if not rest:
            return None
        return rest[0] if len(rest) == 1 else rest

    def _fail(self, fn_name: str, err: Any, args: tuple[Any, ...], what: str) -> None:
        code = int(err)
        _e, text = self._rt.cudaGetErrorString(err)
        msg = text.decode() if isinstance(text, bytes) else str(text)
        name = getattr(err, "name", str(code))
        if code in _NO_GPU_CODES:
            raise BackendUnavailable(
                f"No usable NVIDIA GPU: CUDA says {msg} ({name}).",
                details=f"{fn_name}{what} -> {name} ({code})",
            )
        raise InferenceError(
            f"CUDA {fn_name} failed{what}: {msg} ({name}).",
            details=f"{fn_name}{args!r} -> {name} ({code})",
        )

    def _step(self, fn_name: str, *args: Any, what: str = "") -> Step:
        """`fn_name(*args)` bound once; each call checks the status it returns."""
        fn = getattr(self._rt, fn_name)
        ok = self._rt.cudaError_t.cudaSuccess  # an enum member: one object, compared by `is`

        def step() -> None:
            result = fn(*args)
            err = result[0] if type(result) is tuple else result
            if err is not ok and int(err) != 0:
                self._fail(fn_name, err, args, what)

        return step

    def alloc_device(self, nbytes: int, name: str = "") -> DeviceBuffer:
        with self._making() as owned:
            ptr = self._call("cudaMalloc", max(int(nbytes), 1), what=for_tensor(name))
            buf = DeviceBuffer(int(ptr), int(nbytes), name)
            owned.device.append(buf)
            return buf

    def alloc_pinned(self, nbytes: int, name: str = "") -> PinnedBuffer:
        with self._making() as owned:
            size = max(int(nbytes), 1)
            ptr = int(self._call("cudaMallocHost", size, what=for_tensor(name)))
            raw = (ctypes.c_uint8 * size).from_address(ptr)
            array = np.ctypeslib.as_array(raw)
            buf = PinnedBuffer(array, int(nbytes), name, ptr)
            owned.pinned.append(buf)
            return buf

    def _free_device(self, buf: DeviceBuffer) -> None:
        self._call("cudaFree", buf.ptr, what=for_tensor(buf.name))

    def _free_pinned(self, buf: PinnedBuffer) -> None:
        self._call("cudaFreeHost", buf.ptr, what=for_tensor(buf.name))

    def create_stream(self) -> Stream:
        with self._making() as owned:
            handle = self._call("cudaStreamCreateWithFlags", self._rt.cudaStreamNonBlocking)
            stream = Stream(handle, int(handle))
            owned.streams.append(stream)
            return stream

    def create_event(self) -> Event:
        with self._making() as owned:
            ev = Event(self._call("cudaEventCreate"))
            owned.events.append(ev)
            return ev

    def record(self, event: Event, stream: Stream) -> None:
        self._call("cudaEventRecord", event.handle, stream.handle)

    def elapsed_ms(self, start: Event, end: Event) -> float:
        self._call("cudaEventSynchronize", end.handle)
        return float(self._call("cudaEventElapsedTime", start.handle, end.handle))

    def _copy_async(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> None:
        kinds = self._rt.cudaMemcpyKind
        if to_device:
            dst, src, kind = device.ptr, host.ptr, kinds.cudaMemcpyHostToDevice
        else:
            dst, src, kind = host.ptr, device.ptr, kinds.cudaMemcpyDeviceToHost
        self._call("cudaMemcpyAsync", dst, src, nbytes, kind, stream.handle, what=for_tensor(name))

    def synchronize(self, stream: Stream) -> None:
        self._call("cudaStreamSynchronize", stream.handle)

    def record_step(self, event: Event, stream: Stream) -> Step:
        return self._step("cudaEventRecord", event.handle, stream.handle)

    def _copy_step(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> Step:
        kinds = self._rt.cudaMemcpyKind
        if to_device:
            dst, src, kind = device.ptr, host.ptr, kinds.cudaMemcpyHostToDevice
        else:
            dst, src, kind = host.ptr, device.ptr, kinds.cudaMemcpyDeviceToHost
        args = (dst, src, nbytes, kind, stream.handle)
        return self._step("cudaMemcpyAsync", *args, what=for_tensor(name))

    def synchronize_step(self, stream: Stream) -> Step:
        return self._step("cudaStreamSynchronize", stream.handle)

    def push_context(self) -> None:
        # The runtime API binds the device's primary context to any thread that sets it.
        self._call("cudaSetDevice", self.device)

    def pop_context(self) -> None:
        return None

    def _destroy_stream(self, stream: Stream) -> None:
        self._call("cudaStreamDestroy", stream.handle)

    def _destroy_event(self, event: Event) -> None:
        self._call("cudaEventDestroy", event.handle)
