"""CUDA memory, streams and events behind one small interface, for the TensorRT runner.

Two implementations of `CudaApi`, chosen by `open_cuda`:
- `CudaPythonApi` (default, `engine.cuda_python`): NVIDIA's cuda-python runtime bindings
  (`cuda.bindings.runtime`), which install from wheels and import without a GPU.
- `PyCudaApi` (`engine.cuda_pycuda`): pycuda, imported lazily, for users who have it.

Every call's status is checked; failures raise `BackendUnavailable` (no GPU or driver) or
`InferenceError` naming the tensor involved. An api object owns what it allocated and frees
it all in `close()` / `__exit__` (never in `__del__`, which may run on another thread or at
interpreter exit when the driver is gone); `ClosesOnExit` gives it, and the runners, that
`with` behaviour. `activated()` makes the api's CUDA context current
on the calling thread, so a worker thread can use buffers made on another one.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import numpy as np

from trtgui.core.errors import BackendUnavailable, InferenceError

Step = Callable[[], None]


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

    # -- steps: the same operations resolved once, for loops that repeat them ----------------
    # A step is a call with every argument bound and its status still checked: a timed loop
    # (`engine.trt_staged`) replays a list of them, with no lookups or allocations per run.
    @abstractmethod
    def record_step(self, event: Event, stream: Stream) -> Step:
        """A step that records `event` on `stream`."""

    def copy_step(
        self, device: DeviceBuffer, host: PinnedBuffer, nbytes: int, stream: Stream, to_device: bool
    ) -> Step:
        """A step that queues the copy of `nbytes` between `host` and `device` on `stream`."""
        _check_sizes(device, host, nbytes, device.name)
        return self._copy_step(device, host, nbytes, stream, to_device, device.name)

    @abstractmethod
    def _copy_step(
        self,
        device: DeviceBuffer,
        host: PinnedBuffer,
        nbytes: int,
        stream: Stream,
        to_device: bool,
        name: str,
    ) -> Step: ...

    @abstractmethod
    def synchronize_step(self, stream: Stream) -> Step:
        """A step that waits until everything queued on `stream` has run."""

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


def for_tensor(name: str) -> str:
    """ " for tensor 'x'", the clause CUDA errors end with ("" when no tensor is involved)."""
    return f" for tensor {name!r}" if name else ""


def _check_sizes(dev: DeviceBuffer, host: PinnedBuffer, nbytes: int, name: str) -> None:
    if dev.freed or host.freed:
        raise InferenceError(f"A buffer{for_tensor(name or dev.name)} was already freed.")
    if nbytes > dev.nbytes or nbytes > host.nbytes:
        raise InferenceError(
            f"Copy of {nbytes} bytes{for_tensor(name or dev.name)} exceeds its buffers "
            f"(device {dev.nbytes}, host {host.nbytes})."
        )


# ---------------------------------------------------------------------------------------------

CUDA_APIS = ("cuda-python", "pycuda")


def open_cuda(api: str | None = None, device: int = 0) -> CudaApi:
    """A CudaApi: `api` = "cuda-python", "pycuda", or None for cuda-python, else pycuda."""
    # The implementations build on this module, so they are imported here, when asked for
    # (pycuda's module is then never loaded unless chosen).
    from trtgui.core.engine.cuda_pycuda import PyCudaApi
    from trtgui.core.engine.cuda_python import CudaPythonApi

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
