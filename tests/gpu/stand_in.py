"""`KernelStandInEngine`: a stand-in for a TensorRT execution context, made of one CUDA kernel.

It is NOT TensorRT. It implements the runner's `EngineBinding` protocol so the whole TrtRunner
path — shapes, buffers keyed by name, set_tensor_address, the launch on the runner's stream,
the async copies and events — runs on real GPUs that TensorRT-RTX refuses (compute
capability 9.0). The kernel reads the bound input address and writes the bound output
addresses: y = 2 * x + 1 and rowsum[i] = sum_j x[i, j].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trtgui.core.tensors import TensorSpec

_SOURCE = r"""
extern "C" __global__ void stand_in(const float* x, float* y, float* rowsum, int rows, int cols)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    float s = 0.0f;
    for (int c = 0; c < cols; ++c) {
        float v = x[r * cols + c];
        y[r * cols + c] = 2.0f * v + 1.0f;
        s += v;
    }
    rowsum[r] = s;
}
"""

COLS = 64
MAX_ROWS = 4096


class KernelStandInEngine:
    """EngineBinding over a CuPy RawKernel; input "x" [rows, 64] with 1 <= rows <= 4096."""

    def __init__(self) -> None:
        import cupy

        self._cupy = cupy
        self._kernel = cupy.RawKernel(_SOURCE, "stand_in")
        self.addresses: dict[str, int] = {}
        self.launches = 0
        self._rows = -1

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        return (TensorSpec("x", "float32", (None, COLS)),)

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        return (
            TensorSpec("y", "float32", (None, COLS), is_input=False),
            TensorSpec("rowsum", "float32", (None,), is_input=False),
        )

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        if name != "x" or len(shape) != 2 or shape[1] != COLS or not 1 <= shape[0] <= MAX_ROWS:
            return False  # like TensorRT: a shape outside the profile is refused
        self._rows = shape[0]
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        rows = self._rows
        return {"x": (rows, COLS), "y": (rows, COLS), "rowsum": (rows,)}[name]

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.addresses[name] = int(address)
        return True

    def execute_async_v3(self, stream_address: int) -> bool:
        if self._rows < 1 or set(self.addresses) != {"x", "y", "rowsum"}:
            return False
        stream: Any = self._cupy.cuda.ExternalStream(stream_address)
        threads = 128
        blocks = (self._rows + threads - 1) // threads
        with stream:
            self._kernel(
                (blocks,),
                (threads,),
                (
                    np.uint64(self.addresses["x"]),
                    np.uint64(self.addresses["y"]),
                    np.uint64(self.addresses["rowsum"]),
                    np.int32(self._rows),
                    np.int32(COLS),
                ),
            )
        self.launches += 1
        return True

    def close(self) -> None:
        self.addresses.clear()
