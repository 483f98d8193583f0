"""CUDA memory, streams and events behind one small interface, for the TensorRT runner.

Two implementations of `CudaApi`:
- `CudaPythonApi` (default): NVIDIA's cuda-python runtime bindings (`cuda.bindings.runtime`),
  which install from wheels and import without a GPU.
- `PyCudaApi`: pycuda, imported lazily, for users who have it.

Every call's status is checked; failures raise `BackendUnavailable` (no GPU or driver) or
`InferenceError` naming the tensor involved. An api object owns what it allocated and frees
it all in `close()` / `__exit__` (never in `__del__`, which may run on another thread or at
interpreter exit when the driver is gone); `ClosesOnExit` gives it, and the runners, that
`with` behaviour. `activated()` makes the api's CUDA context current
on the calling thread, so a worker thread can use buffers made on another one.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import numpy as np

from trtgui.core.errors import BackendUnavailable, InferenceError

# CUDA error codes that mean "no usable GPU/driver here" rather than a bug.
_NO_GPU_CODES = {34, 35, 100, 999}  # stub library, insufficient driver, no device, unknown


@dataclass
class DeviceBuffer:
    """`nbytes` of GPU memory at address `ptr`."""

    ptr: int
    nbytes: int
    name: str = ""
    handle: Any = None  # the library's own object (pycuda DeviceAllocation)
    freed: bool = False


@dataclass
class PinnedBuffer:
    """Page-locked host memory seen as a flat uint8 numpy array (`view()` reshapes it)."""

    array: np.ndarray
    nbytes: int
    name: str = ""
    ptr: int = 0
    freed: bool = False

    def view(self, dtype: np.dtype[Any] | str, shape: Sequence[int]) -> np.ndarray:
        """A typed view of the first prod(shape) elements (no copy)."""
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
        need = count * dt.itemsize
        if need > self.nbytes:
            raise InferenceError(
                f"Pinned buffer {self.name!r} holds {self.nbytes} bytes, {need} are needed."
            )
        return self.array[:need].view(dt).reshape(tuple(shape))


@dataclass
class Stream:
    handle: Any  # library object
    address: int  # cudaStream_t as an integer (what TensorRT's execute_async_v3 takes)


@dataclass
class Event:
    handle: Any


@dataclass
class _Owned:
    device: list[DeviceBuffer] = field(default_factory=list)
    pinned: list[PinnedBuffer] = field(default_factory=list)
    streams: list[Stream] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class ClosesOnExit:
    """`with obj:` calls `obj.close()` on the way out, whether or not the block raised.

    For the objects that hold GPU memory, sessions or temporary files: they free them in
    `close()`, never in `__del__`.
    """

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class CudaApi(ClosesOnExit, ABC):
    """The few CUDA operations the TensorRT runner needs."""

    name: str = ""

    def __init__(self) -> None:
        self._owned = _Owned()
        self._lock = threading.RLock()
        self.closed = False

    # -- memory -------------------------------------------------------------------------------
    @abstractmethod
    def alloc_device(self, nbytes: int, name: str = "") -> DeviceBuffer: ...

    @abstractmethod
    def alloc_pinned(self, nbytes: int, name: str = "") -> PinnedBuffer: ...

    @abstractmethod
    def _free_device(self, buf: DeviceBuffer) -> None: ...

    @abstractmethod
    def _free_pinned(self, buf: PinnedBuffer) -> None: ...

    def free(self, buf: DeviceBuffer | PinnedBuffer) -> None:
        """Free one buffer now (also forgotten by close())."""
        with self._lock:
            if buf.freed:
                return
            with self.activated():
                if isinstance(buf, DeviceBuffer):
                    self._free_device(buf)
                    self._owned.device = [b for b in self._owned.device if b is not buf]
                else:
                    self._free_pinned(buf)
                    self._owned.pinned = [b for b in self._owned.pinned if b is not buf]
            buf.freed = True

    # -- streams, events, copies --------------------------------------------------------------
    @abstractmethod
    def create_stream(self) -> Stream: ...

    @abstractmethod
    def create_event(self) -> Event: ...

    @abstractmethod
    def record(self, event: Event, stream: Stream) -> None: ...

    @abstractmethod
    def elapsed_ms(self, start: Event, end: Event) -> float: ...

    def copy_htod_async(
        self, dst: DeviceBuffer, src: PinnedBuffer, nbytes: int, stream: Stream, name: str = ""
    ) -> None:
        """Queue a copy of `nbytes` from pinned host memory to the device on `stream`."""
        _check_sizes(dst, src, nbytes, name)
        self._copy_async(dst, src, nbytes, stream, to_device=True, name=name or dst.name)

    def copy_dtoh_async(
        self, dst: PinnedBuffer, src: DeviceBuffer, nbytes: int, stream: Stream, name: str = ""
    ) -> None:
        """Queue a copy of `nbytes` from the device to pinned host memory on `stream`."""
        _check_sizes(src, dst, nbytes, name)
        self._copy_async(src, dst, nbytes, stream, to_device=False, name=name or src.name)

    @abstractmethod
    def _copy_async(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> None:
        """The library's async copy between `host` and `device` (sizes already checked)."""

    @abstractmethod
    def synchronize(self, stream: Stream) -> None: ...

    @contextlib.contextmanager
    def _making(self) -> Iterator[_Owned]:
        """Around making a buffer, stream or event: refused once closed, one thread at a time,
        this api's context current. Yields the lists `close()` frees; the new thing goes in."""
        self._check_open()
        with self._lock, self.activated():
            yield self._owned

    # -- threads ------------------------------------------------------------------------------
    @abstractmethod
    def push_context(self) -> None:
        """Make this api's context current on the calling thread."""

    @abstractmethod
    def pop_context(self) -> None:
        """Undo push_context on the calling thread."""

    @contextlib.contextmanager
    def activated(self) -> Iterator[None]:
        """`with api.activated():` around CUDA work on any thread."""
        self.push_context()
        try:
            yield
        finally:
            self.pop_context()

    # -- lifetime -----------------------------------------------------------------------------
    @abstractmethod
    def _destroy_stream(self, stream: Stream) -> None: ...

    @abstractmethod
    def _destroy_event(self, event: Event) -> None: ...

    def _shutdown(self) -> None:
        """Release the context after everything is freed (per implementation)."""
        return None

    def close(self) -> None:
        """Free every buffer, stream and event this api made. Safe to call twice."""
        with self._lock:
            if self.closed:
                return
            errors: list[str] = []
            with self.activated():
                for ev in self._owned.events:
                    _collect(errors, self._destroy_event, ev)
                for st in self._owned.streams:
                    _collect(errors, self._destroy_stream, st)
                for d in self._owned.device:
                    if not d.freed:
                        _collect(errors, self._free_device, d)
                        d.freed = True
                for p in self._owned.pinned:
                    if not p.freed:
                        _collect(errors, self._free_pinned, p)
                        p.freed = True
            self._owned = _Owned()
            self._shutdown()
            self.closed = True
            if errors:
                raise InferenceError(
                    "Some GPU memory could not be freed cleanly.", details="\n".join(errors)
                )

    def _check_open(self) -> None:
        if self.closed:
            raise InferenceError("The CUDA resources were already released; open the runner again.")


def _collect(errors: list[str], fn: Any, arg: Any) -> None:
    try:
        fn(arg)
    except Exception as exc:  # keep freeing the rest, report at the end
        errors.append(f"{type(exc).__name__}: {exc}")


def _what(name: str) -> str:
    return f" for tensor {name!r}" if name else ""


# ---------------------------------------------------------------------------------------------
# cuda-python


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
        code = int(err)
        if code != 0:
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
        if not rest:
            return None
        return rest[0] if len(rest) == 1 else rest

    def alloc_device(self, nbytes: int, name: str = "") -> DeviceBuffer:
        with self._making() as owned:
            ptr = self._call("cudaMalloc", max(int(nbytes), 1), what=_what(name))
            buf = DeviceBuffer(int(ptr), int(nbytes), name)
            owned.device.append(buf)
            return buf

    def alloc_pinned(self, nbytes: int, name: str = "") -> PinnedBuffer:
        with self._making() as owned:
            size = max(int(nbytes), 1)
            ptr = int(self._call("cudaMallocHost", size, what=_what(name)))
            raw = (ctypes.c_uint8 * size).from_address(ptr)
            array = np.ctypeslib.as_array(raw)
            buf = PinnedBuffer(array, int(nbytes), name, ptr)
            owned.pinned.append(buf)
            return buf

    def _free_device(self, buf: DeviceBuffer) -> None:
        self._call("cudaFree", buf.ptr, what=_what(buf.name))

    def _free_pinned(self, buf: PinnedBuffer) -> None:
        self._call("cudaFreeHost", buf.ptr, what=_what(buf.name))

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
        self._call("cudaMemcpyAsync", dst, src, nbytes, kind, stream.handle, what=_what(name))

    def synchronize(self, stream: Stream) -> None:
        self._call("cudaStreamSynchronize", stream.handle)

    def push_context(self) -> None:
        # The runtime API binds the device's primary context to any thread that sets it.
        self._call("cudaSetDevice", self.device)

    def pop_context(self) -> None:
        return None

    def _destroy_stream(self, stream: Stream) -> None:
        self._call("cudaStreamDestroy", stream.handle)

    def _destroy_event(self, event: Event) -> None:
        self._call("cudaEventDestroy", event.handle)


def _check_sizes(dev: DeviceBuffer, host: PinnedBuffer, nbytes: int, name: str) -> None:
    if dev.freed or host.freed:
        raise InferenceError(f"A buffer{_what(name or dev.name)} was already freed.")
    if nbytes > dev.nbytes or nbytes > host.nbytes:
        raise InferenceError(
            f"Copy of {nbytes} bytes{_what(name or dev.name)} exceeds its buffers "
            f"(device {dev.nbytes}, host {host.nbytes})."
        )


# ---------------------------------------------------------------------------------------------
# pycuda


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
        return _PyCudaGuard(self._drv, what + _what(name))

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


# ---------------------------------------------------------------------------------------------

CUDA_APIS = ("cuda-python", "pycuda")


def open_cuda(api: str | None = None, device: int = 0) -> CudaApi:
    """A CudaApi: `api` = "cuda-python", "pycuda", or None for cuda-python, else pycuda."""
    if api == "cuda-python":
        return CudaPythonApi(device)
    if api == "pycuda":
        return PyCudaApi(device)
    if api is not None:
        raise ValueError(f"unknown CUDA api {api!r}; choose one of {', '.join(CUDA_APIS)}")
    try:
        return CudaPythonApi(device)
    except BackendUnavailable as first:
        if "not installed" not in first.message:
            raise  # cuda-python is there but there is no GPU: pycuda would not help
        try:
            return PyCudaApi(device)
        except BackendUnavailable as second:
            raise BackendUnavailable(
                "Neither cuda-python nor pycuda is usable: pip install 'trtgui[cuda]'.",
                details=f"{first.details}\n{second.details}",
            ) from second
