"""What the NVIDIA TensorRT GPU tests share: where the models are, a results file that comes
back from the device, the CLI as a user runs it, and the bare `execute_async_v3` loop that
trtgui's runner is timed against.

The tests run on the lent H200 from `tools/gpu-check.sh`, with TensorRT 8.6 installed by the
trt86 kit; anywhere else (no GPU, or no NVIDIA TensorRT) they skip. Environment:
- TRTGUI_GPU_MODELS: folders holding onnx/ and images/ (os.pathsep-separated; default: the
  git-ignored .trt86/gpu-a and .trt86/gpu-b, then ../shared/models);
- TRTGUI_GPU_WORK: where engines and the timing cache go (default: a pytest temp folder);
- TRTGUI_GPU_RESULTS: the JSON file the results are written to (default: none).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trtgui.core import backends

ROOT = Path(__file__).resolve().parents[2]
_DEFAULT_MODELS = (
    ROOT / ".trt86" / "gpu-a",
    ROOT / ".trt86" / "gpu-b",
    ROOT.parent / "shared" / "models",
)


def model_dirs() -> list[Path]:
    env = os.environ.get("TRTGUI_GPU_MODELS", "")
    dirs = [Path(p) for p in env.split(os.pathsep) if p] or list(_DEFAULT_MODELS)
    return [d for d in dirs if d.is_dir()]


def find(kind: str, name: str) -> Path:
    """onnx/NAME or images/NAME from the first model folder that has it, else skip."""
    for folder in model_dirs():
        path = folder / kind / name
        if path.is_file():
            return path
    pytest.skip(f"{kind}/{name} is not in {[str(d) for d in model_dirs()]}")


def require_tensorrt() -> backends.BackendInfo:
    info = backends.probe_backend("tensorrt")
    if not info.available:
        pytest.skip(f"NVIDIA TensorRT is not installed: {info.reason}")
    return info


class Results:
    """A dict written to TRTGUI_GPU_RESULTS after every test, so a run cut short by the device's
    time limit still brings back what it measured."""

    def __init__(self, path: str) -> None:
        self.path = Path(path) if path else None
        self.data: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps(self.data, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`trtgui-cli ARGS` in a child process, as a user runs it (this checkout's trtgui)."""
    # The running checkout first: the CLI is the same code the tests import.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "trtgui.cli.main", *args],
        capture_output=True,
        encoding="utf-8",  # trtgui prints "×" and "›"; the device's locale is ASCII
        errors="replace",
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": path},
        cwd=ROOT,
        check=False,
    )


def cli_json(*args: str, timeout: float = 300) -> dict[str, Any]:
    proc = cli(*args, "--json", timeout=timeout)
    assert proc.returncode == 0, f"trtgui-cli {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


# -- the yardstick: the least a Python program must do to run the engine -----------------------


def _ck(result: Any) -> Any:
    err = result[0] if isinstance(result, tuple) else result
    assert int(err) == 0, f"CUDA error {err}"
    return result[1] if isinstance(result, tuple) and len(result) == 2 else None


def bare_loop(
    engine_path: Path,
    feeds: Mapping[str, np.ndarray],
    iterations: int,
    warmup: int = 50,
    profile: int = 0,
    outputs: dict[str, np.ndarray] | None = None,
) -> dict[str, list[float]]:
    """Time `engine_path` with nothing but TensorRT and cuda-python, as trtexec does: inputs put
    once into pinned buffers; each iteration is, on one stream, an event, the H2D copies, an
    event, `execute_async_v3`, an event, the D2H copies, an event, then a wait for the stream
    (its host wall time is "latency"; the events give H2D / compute / D2H, read after the
    wait). No status checks, no lookups in the loop: the least a Python program can do.
    `profile`: the optimization profile to run; `outputs`, when given, receives the last
    run's outputs."""
    import tensorrt as trt
    from cuda.bindings import runtime as rt

    engine = trt.Runtime(trt.Logger(trt.Logger.ERROR)).deserialize_cuda_engine(
        engine_path.read_bytes()
    )
    ctx = engine.create_execution_context()
    stream = _ck(rt.cudaStreamCreateWithFlags(rt.cudaStreamNonBlocking))
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    if profile:
        assert ctx.set_optimization_profile_async(profile, int(stream))
        _ck(rt.cudaStreamSynchronize(stream))
    for n in inputs:
        ctx.set_input_shape(n, feeds[n].shape)
    host, hptr, dev, nbytes = {}, {}, {}, {}
    for n in names:
        dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(n)))
        nbytes[n] = int(np.prod(tuple(ctx.get_tensor_shape(n)))) * dtype.itemsize
        hptr[n] = _ck(rt.cudaMallocHost(nbytes[n]))
        host[n] = np.ctypeslib.as_array(
            (np.ctypeslib.ctypes.c_uint8 * nbytes[n]).from_address(hptr[n])
        )
        dev[n] = _ck(rt.cudaMalloc(nbytes[n]))
        ctx.set_tensor_address(n, int(dev[n]))
    for n in inputs:
        host[n][:] = np.ascontiguousarray(feeds[n]).view(np.uint8).ravel()
    ev = [_ck(rt.cudaEventCreate()) for _ in range(4)]
    h2d, d2h = rt.cudaMemcpyKind.cudaMemcpyHostToDevice, rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
    ins = [(dev[n], hptr[n], nbytes[n]) for n in inputs]
    outs = [(hptr[n], dev[n], nbytes[n]) for n in names if n not in inputs]
    record, copy, sync = rt.cudaEventRecord, rt.cudaMemcpyAsync, rt.cudaStreamSynchronize
    execute, clock, address = ctx.execute_async_v3, time.perf_counter, int(stream)
    out: dict[str, list[float]] = {k: [] for k in ("latency", "h2d", "compute", "d2h")}
    for it in range(warmup + iterations):
        t0 = clock()
        record(ev[0], stream)
        for d, h, size in ins:
            copy(d, h, size, h2d, stream)
        record(ev[1], stream)
        execute(address)
        record(ev[2], stream)
        for h, d, size in outs:
            copy(h, d, size, d2h, stream)
        record(ev[3], stream)
        sync(stream)
        t1 = clock()
        if it >= warmup:
            out["latency"].append((t1 - t0) * 1000.0)
            for key, (a, b) in zip(
                ("h2d", "compute", "d2h"), ((0, 1), (1, 2), (2, 3)), strict=True
            ):
                out[key].append(float(_ck(rt.cudaEventElapsedTime(ev[a], ev[b]))))
    if outputs is not None:
        for n in names:
            if n not in inputs:
                dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(n)))
                shape = tuple(ctx.get_tensor_shape(n))
                outputs[n] = host[n].view(dtype).reshape(shape).copy()
    for e in ev:
        rt.cudaEventDestroy(e)
    for n in names:
        rt.cudaFree(dev[n])
        rt.cudaFreeHost(hptr[n])
    rt.cudaStreamDestroy(stream)
    del ctx, engine
    return out


def bench_against_bare_loop(
    engine_path: Path,
    feeds: Mapping[str, np.ndarray],
    cuda_api: str = "cuda-python",
    rounds: int = 3,
) -> dict[str, Any]:
    """trtgui's bench (`bench.time_runner`, what `trtgui-cli bench` runs) and the bare loop on
    the same engine and inputs, interleaved for `rounds` rounds (so clocks and caches treat
    both alike), 500 timed runs each; also `TrtRunner.run` timed per call, for comparison (it
    copies the caller's arrays in and the outputs out). Returns every round and
    `ratio_median`, the median over rounds of trtgui's median / the bare loop's median."""
    from trtgui.core.engine.bench import measure_latency, time_runner
    from trtgui.core.engine.trt_runner import TrtRunner

    batch = int(next(iter(feeds.values())).shape[0])
    out: list[dict[str, Any]] = []
    for _round in range(rounds):
        bare_outputs: dict[str, np.ndarray] = {}
        bare = bare_loop(engine_path, feeds, iterations=500, warmup=100, outputs=bare_outputs)
        with TrtRunner(engine_path, cuda_api=cuda_api) as runner:
            stats = time_runner(runner, feeds, warmup_ms=200, iterations=500, batch=batch)
            with runner.staged(feeds) as replay:
                replay()
                staged = replay.outputs()
            run_stats = measure_latency(
                lambda: runner.run(feeds), warmup_ms=100, iterations=200, batch=batch
            )
        diff = max(float(np.abs(staged[k] - bare_outputs[k]).max()) for k in bare_outputs)
        out.append(
            {
                "bare_median_ms": median(bare["latency"]),
                "bare_h2d_ms": median(bare["h2d"]),
                "bare_compute_ms": median(bare["compute"]),
                "bare_d2h_ms": median(bare["d2h"]),
                "trtgui_median_ms": stats.latency.median,
                "trtgui_h2d_ms": stats.phases["H2D Latency"].median,
                "trtgui_compute_ms": stats.phases["GPU Compute Time"].median,
                "trtgui_d2h_ms": stats.phases["D2H Latency"].median,
                "trtgui": stats.to_dict(),
                "run_per_call_median_ms": run_stats.latency.median,
                "max_abs_difference_from_bare_loop": diff,
                "ratio": stats.latency.median / median(bare["latency"]),
            }
        )
    return {
        "cuda_api": cuda_api,
        "batch": batch,
        "rounds": out,
        "ratio_median": median([r["ratio"] for r in out]),
    }


def median(values: list[float]) -> float:
    return float(np.median(np.asarray(values))) if values else float("nan")


def images(names: list[str]) -> Iterator[Path]:
    for name in names:
        yield find("images", name)


def agreement(ref: np.ndarray, cand: np.ndarray) -> dict[str, float]:
    """Per-image classifier agreement, computed here with numpy alone (not trtgui's compare):
    the share of rows with the same top-1, the mean top-5 overlap, and the cosine of the
    logits (lowest and mean over rows)."""
    r, c = ref.astype(np.float64), cand.astype(np.float64)
    top5_r = np.argsort(-r, axis=1, kind="stable")[:, :5]
    top5_c = np.argsort(-c, axis=1, kind="stable")[:, :5]
    overlap = [len(set(a) & set(b)) / 5 for a, b in zip(top5_r, top5_c, strict=True)]
    cos = (r * c).sum(axis=1) / (np.linalg.norm(r, axis=1) * np.linalg.norm(c, axis=1))
    return {
        "rows": int(r.shape[0]),
        "top1_agreement": float(np.mean(top5_r[:, 0] == top5_c[:, 0])),
        "top5_overlap": float(np.mean(overlap)),
        "cosine_min": float(cos.min()),
        "cosine_mean": float(cos.mean()),
    }
