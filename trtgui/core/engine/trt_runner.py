"""`TrtRunner`: run a TensorRT engine through `engine.cuda` buffers and streams.

Pinned host and device buffers are keyed by tensor name and grow only when a run needs more;
each run is timed with CUDA events under trtexec's names. `staged(feeds)` sets one inference up
once and replays just its copies and launch (`engine.trt_staged`), which is what bench times.
`EngineBinding` is the engine-facing part, so tests can drive the runner with a small CUDA
kernel on GPUs TensorRT refuses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trtgui.core.backends import trt_dtype_name
from trtgui.core.engine.cuda import ClosesOnExit
from trtgui.core.engine.info import deserialize
from trtgui.core.engine.runners import check_feeds
from trtgui.core.engine.trt_staged import RunTimings, StagedRun, execute_step
from trtgui.core.errors import InferenceError
from trtgui.core.tensors import TensorSpec


class EngineBinding(Protocol):
    """The engine-facing part of TrtRunner: an execution context and its I/O description.

    `TensorRTBinding` implements it over a real ICudaEngine; tests implement it with a small
    CUDA kernel so the runner's binding and copy path is checked on GPUs TensorRT refuses.
    """

    @property
    def inputs(self) -> tuple[TensorSpec, ...]: ...

    @property
    def outputs(self) -> tuple[TensorSpec, ...]: ...

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool: ...

    def get_tensor_shape(self, name: str) -> tuple[int, ...]: ...

    def set_tensor_address(self, name: str, address: int) -> bool: ...

    def execute_async_v3(self, stream_address: int) -> bool: ...

    def close(self) -> None: ...


class TensorRTBinding:
    """EngineBinding over a TensorRT ICudaEngine (NVIDIA TensorRT or TensorRT-RTX)."""

    def __init__(self, trt: Any, engine: Any, profile: int = 0) -> None:
        self._trt = trt
        self._engine = engine
        inputs, outputs = [], []
        for i in range(int(engine.num_io_tensors)):
            name = engine.get_tensor_name(i)
            location = str(getattr(engine.get_tensor_location(name), "name", "DEVICE"))
            if location != "DEVICE":
                raise InferenceError(
                    f"Tensor {name!r} lives in host memory (a shape tensor); this runner "
                    "handles device tensors only."
                )
            shape = tuple(None if int(d) < 0 else int(d) for d in engine.get_tensor_shape(name))
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            info = TensorSpec(name, trt_dtype_name(engine.get_tensor_dtype(name)), shape, is_input)
            if is_input:
                inputs.append(info)
            else:
                outputs.append(info)
        self._inputs, self._outputs = tuple(inputs), tuple(outputs)
        self._context = engine.create_execution_context()
        if self._context is None:
            raise InferenceError(
                "TensorRT could not create an execution context (out of GPU memory?)."
            )
        self._profile = profile

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return self._inputs

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return self._outputs

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        return bool(self._context.set_input_shape(name, shape))

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in self._context.get_tensor_shape(name))

    def profile_range(self, name: str) -> str:
        try:
            lo, _opt, hi = self._engine.get_tensor_profile_shape(name, self._profile)
        except Exception:  # static inputs have no profile
            return ""
        return f"{list(lo)} to {list(hi)}"

    def set_tensor_address(self, name: str, address: int) -> bool:
        return bool(self._context.set_tensor_address(name, address))

    def execute_async_v3(self, stream_address: int) -> bool:
        return bool(self._context.execute_async_v3(stream_address))

    def close(self) -> None:
        self._context = None
        self._engine = None


@dataclass
class _Slot:
    host: Any  # cuda.PinnedBuffer
    device: Any  # cuda.DeviceBuffer
    capacity: int


class TrtRunner(ClosesOnExit):
    """Run a TensorRT engine: pinned host and device buffers keyed by tensor name.

    `TrtRunner(engine_path)` deserializes the engine (needs a GPU the backend accepts);
    `TrtRunner.from_binding(binding, cuda)` drives any EngineBinding. `run()` can be called
    from any thread (the CUDA context is made current around each call).
    """

    def __init__(
        self,
        engine_path: str | Path | None = None,
        backend: str | None = None,
        cuda_api: str | None = None,
        *,
        binding: EngineBinding | None = None,
        cuda: Any = None,
    ) -> None:
        from trtgui.core.engine import cuda as cuda_mod

        self.path = Path(engine_path) if engine_path is not None else None
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self.last_timings: RunTimings | None = None
        self._staged_by: int | None = None  # the thread holding a StagedRun, if any
        self._staged: StagedRun | None = None
        engine: Any = None
        if binding is None:
            if engine_path is None:
                raise ValueError("give engine_path or binding")
            # First, so "no GPU" / "GPU not supported" / "wrong version" come in plain words.
            trt, engine, _header = deserialize(engine_path, backend)
        self._owns_cuda = cuda is None
        self._cuda = cuda if cuda is not None else cuda_mod.open_cuda(cuda_api)
        try:
            with self._cuda.activated():
                if binding is None:
                    binding = TensorRTBinding(trt, engine)
                self._binding: EngineBinding | None = binding
                self._stream = self._cuda.create_stream()
                self._events = [self._cuda.create_event() for _ in range(4)]
        except BaseException:
            self._release_cuda()
            raise

    @classmethod
    def from_binding(cls, binding: EngineBinding, cuda: Any) -> TrtRunner:
        """A runner over `binding` using the caller's CudaApi (the caller closes it)."""
        return cls(binding=binding, cuda=cuda)

    @property
    def cuda_api_name(self) -> str:
        return str(self._cuda.name)

    @property
    def title(self) -> str:
        return f"TensorRT ({self.cuda_api_name})"

    @property
    def input_infos(self) -> tuple[TensorSpec, ...]:
        return self._live_binding().inputs

    @property
    def output_infos(self) -> tuple[TensorSpec, ...]:
        return self._live_binding().outputs

    def _live_binding(self) -> EngineBinding:
        if self._binding is None:
            raise InferenceError("This engine runner is closed; open the engine again.")
        return self._binding

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Copy inputs in, execute, copy outputs back; outputs by name (fresh arrays)."""
        binding = self._live_binding()
        checked = check_feeds(feeds, binding.inputs)
        self._refuse_while_staged()
        with self._lock, self._cuda.activated():
            start = time.perf_counter()
            out_shapes = self._prepare(binding, checked)
            ev = self._events
            stream = self._stream
            self._cuda.record(ev[0], stream)
            for info in binding.inputs:
                slot = self._slots[info.name]
                self._cuda.copy_htod_async(
                    slot.device, slot.host, checked[info.name].nbytes, stream, info.name
                )
            self._cuda.record(ev[1], stream)
            execute_step(binding.execute_async_v3, stream.address)()
            self._cuda.record(ev[2], stream)
            for o in binding.outputs:
                slot = self._slots[o.name]
                nbytes = _nbytes(o.dtype, out_shapes[o.name])
                self._cuda.copy_dtoh_async(slot.host, slot.device, nbytes, stream, o.name)
            self._cuda.record(ev[3], stream)
            self._cuda.synchronize(stream)
            outputs = self._read_outputs(binding, out_shapes)
            host_ms = (time.perf_counter() - start) * 1000.0
            self.last_timings = RunTimings(
                h2d_ms=self._cuda.elapsed_ms(ev[0], ev[1]),
                compute_ms=self._cuda.elapsed_ms(ev[1], ev[2]),
                d2h_ms=self._cuda.elapsed_ms(ev[2], ev[3]),
                host_ms=host_ms,
            )
        return outputs

    def staged(self, feeds: Mapping[str, np.ndarray]) -> StagedRun:
        """Stage `feeds` once (shapes, buffers, addresses, the inputs copied into the pinned
        buffers) and return a `StagedRun` that replays only the copies and the launch, as
        trtexec times an engine. It holds this runner (and its CUDA context on this thread)
        until closed: `with runner.staged(feeds) as replay: replay()`."""
        binding = self._live_binding()
        checked = check_feeds(feeds, binding.inputs)
        self._refuse_while_staged()
        self._lock.acquire()
        pushed = False
        try:
            self._cuda.push_context()
            pushed = True
            out_shapes = self._prepare(binding, checked)
            cuda, stream, ev = self._cuda, self._stream, self._events
            steps = [cuda.record_step(ev[0], stream)]
            for info in binding.inputs:
                slot = self._slots[info.name]
                nbytes = checked[info.name].nbytes
                steps.append(cuda.copy_step(slot.device, slot.host, nbytes, stream, True))
            steps.append(cuda.record_step(ev[1], stream))
            steps.append(execute_step(binding.execute_async_v3, stream.address))
            steps.append(cuda.record_step(ev[2], stream))
            for o in binding.outputs:
                slot = self._slots[o.name]
                nbytes = _nbytes(o.dtype, out_shapes[o.name])
                steps.append(cuda.copy_step(slot.device, slot.host, nbytes, stream, False))
            steps.append(cuda.record_step(ev[3], stream))
            steps.append(cuda.synchronize_step(stream))
        except BaseException:
            if pushed:
                self._cuda.pop_context()
            self._lock.release()
            raise
        self._staged_by = threading.get_ident()

        def release() -> None:
            self._staged_by, self._staged = None, None
            try:
                self._cuda.pop_context()
            finally:
                self._lock.release()

        self._staged = StagedRun(
            steps,
            ev,
            self._cuda.elapsed_ms,
            lambda: self._read_outputs(binding, out_shapes),
            release,
        )
        return self._staged

    def _refuse_while_staged(self) -> None:
        # The same thread would wait for itself on the lock: say what to do instead.
        if self._staged_by is not None and self._staged_by == threading.get_ident():
            raise InferenceError("Close the staged run (its `with` block) before running again.")

    def _prepare(
        self, binding: EngineBinding, checked: Mapping[str, np.ndarray]
    ) -> dict[str, tuple[int, ...]]:
        """Shapes set, buffers big enough, addresses bound, inputs in the pinned buffers;
        returns the output shapes. Called with the lock held and the context current."""
        for info in binding.inputs:
            self._set_shape(binding, info.name, tuple(checked[info.name].shape))
        out_shapes = {o.name: self._output_shape(binding, o) for o in binding.outputs}
        for info in binding.inputs:
            arr = checked[info.name]
            slot = self._slot(info.name, arr.nbytes)
            np.copyto(slot.host.view(arr.dtype, arr.shape), arr)
        for o in binding.outputs:
            self._slot(o.name, _nbytes(o.dtype, out_shapes[o.name]))
        for name, slot in self._slots.items():
            if not binding.set_tensor_address(name, slot.device.ptr):
                raise InferenceError(f"TensorRT refused the device address of {name!r}.")
        return out_shapes

    def _read_outputs(
        self, binding: EngineBinding, out_shapes: Mapping[str, tuple[int, ...]]
    ) -> dict[str, np.ndarray]:
        return {
            o.name: self._slots[o.name].host.view(o.dtype, out_shapes[o.name]).copy()
            for o in binding.outputs
        }

    def _set_shape(self, binding: EngineBinding, name: str, shape: tuple[int, ...]) -> None:
        if self._shapes.get(name) == shape:
            return
        if not binding.set_input_shape(name, shape):
            allowed = ""
            if isinstance(binding, TensorRTBinding):
                rng = binding.profile_range(name)
                allowed = f" (the engine's profile allows {rng})" if rng else ""
            raise InferenceError(
                f"Input {name!r} with shape {list(shape)} does not fit the engine{allowed}: "
                "use a shape inside the profile, or rebuild with a wider profile."
            )
        self._shapes[name] = shape

    @staticmethod
    def _output_shape(binding: EngineBinding, info: TensorSpec) -> tuple[int, ...]:
        shape = binding.get_tensor_shape(info.name)
        if any(d < 0 for d in shape):
            raise InferenceError(
                f"Output {info.name!r} has a data-dependent shape {list(shape)}; this runner "
                "needs output sizes known once the input shapes are set."
            )
        return shape

    def _slot(self, name: str, nbytes: int) -> _Slot:
        """Buffers for `name`, reallocated only when they must grow."""
        slot = self._slots.get(name)
        if slot is not None and slot.capacity >= nbytes:
            return slot
        if slot is not None:
            self._cuda.free(slot.host)
            self._cuda.free(slot.device)
        host = self._cuda.alloc_pinned(nbytes, name)
        device = self._cuda.alloc_device(nbytes, name)
        slot = _Slot(host, device, nbytes)
        self._slots[name] = slot
        return slot

    def close(self) -> None:
        staged = self._staged
        if staged is not None and self._staged_by == threading.get_ident():
            staged.close()  # else this thread would wait for itself on the lock
        with self._lock:
            if self._binding is not None:
                self._binding.close()
                self._binding = None
            self._release_cuda()

    def _release_cuda(self) -> None:
        cuda = self._cuda
        if self._owns_cuda:
            cuda.close()  # frees the slots, stream and events it made
        else:
            with cuda.activated():
                for slot in self._slots.values():
                    cuda.free(slot.host)
                    cuda.free(slot.device)
        self._slots = {}


def _nbytes(dtype: str, shape: Sequence[int]) -> int:
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError as exc:
        raise InferenceError(f"Tensors of type {dtype} are not supported by this runner.") from exc
    return int(np.prod(shape, dtype=np.int64)) * itemsize if len(shape) else itemsize
