"""On a real GPU: both CUDA layers move data host → device → host through pinned buffers on a
stream, and the kernel stand-in drives TrtRunner's whole binding and copy path."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from tests.gpu.stand_in import COLS, KernelStandInEngine
from trtgui.core.engine.cuda import CudaApi, open_cuda
from trtgui.core.engine.trt_runner import TrtRunner
from trtgui.core.errors import InferenceError

pytestmark = pytest.mark.gpu

APIS = ["cuda-python", "pycuda"]


@pytest.fixture(params=APIS)
def api(request: pytest.FixtureRequest) -> Iterator[CudaApi]:
    if request.param == "pycuda":
        pytest.importorskip("pycuda.driver")
    with open_cuda(request.param) as cuda:
        yield cuda


def _roundtrip(cuda: CudaApi, data: np.ndarray) -> tuple[np.ndarray, float, float]:
    n = data.nbytes
    src = cuda.alloc_pinned(n, "src")
    dst = cuda.alloc_pinned(n, "dst")
    dev = cuda.alloc_device(n, "dev")
    np.copyto(src.view(data.dtype, data.shape), data)
    dst.array[:] = 0
    stream = cuda.create_stream()
    e0, e1, e2 = cuda.create_event(), cuda.create_event(), cuda.create_event()
    cuda.record(e0, stream)
    cuda.copy_htod_async(dev, src, n, stream, "dev")
    cuda.record(e1, stream)
    cuda.copy_dtoh_async(dst, dev, n, stream, "dev")
    cuda.record(e2, stream)
    cuda.synchronize(stream)
    out = dst.view(data.dtype, data.shape).copy()
    return out, cuda.elapsed_ms(e0, e1), cuda.elapsed_ms(e1, e2)


def test_pinned_roundtrip(api: CudaApi) -> None:
    data = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    out, h2d, d2h = _roundtrip(api, data)
    np.testing.assert_array_equal(out, data)
    assert h2d > 0 and d2h > 0
    print(f"{api.name}: 4 MiB H2D {h2d:.3f} ms, D2H {d2h:.3f} ms")


def test_roundtrip_from_worker_thread(api: CudaApi) -> None:
    data = np.arange(1 << 16, dtype=np.int64)
    result: dict[str, object] = {}

    def work() -> None:
        try:
            with api.activated():
                result["out"] = _roundtrip(api, data)[0]
        except BaseException as exc:  # reported to the test thread
            result["error"] = exc

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert "error" not in result, result.get("error")
    np.testing.assert_array_equal(result["out"], data)


def test_copy_too_big_names_tensor(api: CudaApi) -> None:
    host = api.alloc_pinned(16, "input_ids")
    dev = api.alloc_device(8, "input_ids")
    stream = api.create_stream()
    with pytest.raises(InferenceError, match="input_ids"):
        api.copy_htod_async(dev, host, 16, stream, "input_ids")


def test_close_frees_and_refuses(api: CudaApi) -> None:
    api.alloc_device(1 << 20, "t")
    api.alloc_pinned(1 << 20, "t")
    api.close()
    with pytest.raises(InferenceError, match="released"):
        api.alloc_device(16)


@pytest.mark.parametrize("api_name", APIS)
def test_trt_runner_path_with_kernel_stand_in(api_name: str) -> None:
    if api_name == "pycuda":
        pytest.importorskip("pycuda.driver")
    rng = np.random.default_rng(1)
    with open_cuda(api_name) as cuda:
        stand_in = KernelStandInEngine()
        with TrtRunner.from_binding(stand_in, cuda) as runner:
            assert [t.name for t in runner.input_infos] == ["x"]
            for rows in (1, 300, 7, 300, 4096):  # grows, reuses, shrinks
                x = rng.standard_normal((rows, COLS)).astype(np.float32)
                out = runner.run({"x": x})
                assert set(out) == {"y", "rowsum"}
                np.testing.assert_allclose(out["y"], 2 * x + 1, rtol=1e-6)
                np.testing.assert_allclose(out["rowsum"], x.sum(axis=1), rtol=1e-4, atol=1e-4)
                t = runner.last_timings
                assert t is not None and t.h2d_ms > 0 and t.compute_ms > 0 and t.d2h_ms > 0
                # The stand-in saw the runner's own device buffers.
                assert stand_in.addresses["x"] == runner._slots["x"].device.ptr
            assert stand_in.launches == 5
            with pytest.raises(InferenceError, match="does not fit the engine"):
                runner.run({"x": np.zeros((5000, COLS), np.float32)})
            with pytest.raises(InferenceError, match="dtype float64"):
                runner.run({"x": np.zeros((2, COLS))})
            print(f"{api_name}: stand-in run timings {runner.last_timings}")


@pytest.mark.parametrize("api_name", APIS)
def test_trt_runner_from_worker_thread(api_name: str) -> None:
    if api_name == "pycuda":
        pytest.importorskip("pycuda.driver")
    x = np.random.default_rng(2).standard_normal((64, COLS)).astype(np.float32)
    with open_cuda(api_name) as cuda, TrtRunner.from_binding(KernelStandInEngine(), cuda) as runner:
        result: dict[str, object] = {}

        def work() -> None:
            try:
                result["out"] = runner.run({"x": x})
            except BaseException as exc:
                result["error"] = exc

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert "error" not in result, result.get("error")
        out = result["out"]
        assert isinstance(out, dict)
        np.testing.assert_allclose(out["y"], 2 * x + 1, rtol=1e-6)
