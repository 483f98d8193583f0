"""`trtgui-cli engine`, `run` and `bench`: text, JSON and exit codes (CPU machine behaviour)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.core.test_engine import build_rtx_engine
from tests.onnx_factory import MadeModel
from trtgui.cli.main import main
from trtgui.core import backends, gpus


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def engine(made_models: dict[str, MadeModel], tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not backends.probe_backend("rtx").available:
        pytest.skip("tensorrt_rtx is not installed")
    out = tmp_path_factory.mktemp("cli_engines") / "static_conv.engine"
    build_rtx_engine(made_models["static_conv"].path, out)
    (out.parent / (out.name + ".json")).write_text(
        json.dumps(
            {
                "backend": "rtx",
                "backend_version": str(backends.probe_backend("rtx").version),
                "onnx_sha256": "cd" * 32,
                "settings": {"precision": "fp32"},
                "io_tensors": [
                    {"name": "input", "is_input": True, "dtype": "float32", "shape": [1, 3, 16, 16]}
                ],
            }
        )
    )
    return out


no_gpu = pytest.mark.skipif(gpus.gpu_report().has_gpu, reason="expects a machine without GPU")


# -- engine ------------------------------------------------------------------------------------


@no_gpu
def test_engine_text(engine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "engine", str(engine))
    assert (code, err) == (0, "")
    assert "Built with   TensorRT for RTX" in out
    assert "no usable NVIDIA GPU" in out
    assert "Build record static_conv.engine.json: backend rtx" in out
    assert "input  input" in out


@no_gpu
def test_engine_text_says_the_verdict_in_words_and_the_gpu_reason_once(
    engine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trtgui.core.engine.plan import VERDICT_WORDS

    _code, out, _err = _run(capsys, "engine", str(engine))
    reason = gpus.gpu_report().reason
    assert reason and out.count(reason) == 1
    assert f"Verdict      {VERDICT_WORDS['needs_gpu']}" in out
    assert "needs_gpu" not in out


@no_gpu
def test_engine_layers_without_gpu_says_why_in_one_line(
    engine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, plain, _err = _run(capsys, "engine", str(engine))
    code, out, err = _run(capsys, "engine", str(engine), "--layers")
    assert (code, err) == (0, "")
    assert out != plain
    extra = out.removeprefix(plain).strip().splitlines()
    assert len(extra) == 1
    assert extra[0].startswith("Layers       not listed:")
    assert "NVIDIA GPU" in extra[0]


@no_gpu
def test_engine_json(engine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "engine", str(engine), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["check"]["header"]["backend"] == "rtx"
    assert data["check"]["verdict"]["status"] == "needs_gpu"
    assert data["check"]["verdict"]["words"] == "Needs a supported NVIDIA GPU to load or run."
    assert data["check"]["sidecar"]["onnx_sha256"] == "cd" * 32
    assert data["engine"] is None


@pytest.mark.parametrize(
    ("content", "fragment"), [(b"", "is empty"), (b"not an engine at all\n", "text file")]
)
def test_engine_corrupt_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, fragment: str
) -> None:
    bad = tmp_path / "bad.engine"
    bad.write_bytes(content)
    code, out, err = _run(capsys, "engine", str(bad))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and fragment in err


def test_engine_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "engine", str(tmp_path / "none.engine"))
    assert code == 1 and "not found" in err


# -- run ---------------------------------------------------------------------------------------


def test_run_onnx_random_json(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(made_models["static_conv"].path)
    code, out, err = _run(capsys, "run", path, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["runner"].startswith("ONNX Runtime")
    assert data["inputs"]["input"] == {
        "shape": [1, 3, 16, 16],
        "dtype": "float32",
        "source": "random (seed 0)",
    }
    assert data["outputs"]["output"]["shape"] == [1, 8]
    # same seed, same numbers
    _code2, out2, _ = _run(capsys, "run", path, "--json")
    assert json.loads(out2)["outputs"] == data["outputs"]


def test_run_with_input_file_and_compare(
    made_models: dict[str, MadeModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = made_models["multi_io"]
    a = tmp_path / "a.npy"
    np.save(a, np.ones((2, 4), np.float32))
    out_dir = tmp_path / "outs"
    code, out, _err = _run(
        capsys,
        "run",
        str(made.path),
        "--input",
        f"a={a}",
        "--compare-onnx",
        str(made.path),
        "--save-outputs",
        str(out_dir),
    )
    assert code == 0
    assert "a                        float32  2×4  file" in out
    assert "PASSED" in out
    saved = np.load(out_dir / "sum.npy")
    assert saved.shape == (2, 4)


def test_run_compare_failure_exit_1(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    # static_conv vs external_data: same input, different outputs ([1,8] vs [1,64])
    code, out, err = _run(
        capsys,
        "run",
        str(made_models["static_conv"].path),
        "--compare-onnx",
        str(made_models["external_data"].path),
        "--json",
    )
    assert code == 1
    assert json.loads(out)["comparison"]["passed"] is False
    assert "FAILED" in err


def test_run_dynamic_defaults_or_shape(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue #10: dynamic dims no longer stop `run`; they take defaults, said in a note
    # (tests/cli/test_run_bench_cli.py covers the rules).
    path = str(made_models["dynamic_spatial"].path)
    code, out, err = _run(capsys, "run", path, "--json")
    assert code == 0 and "choose with --shape input:1x3x224x224" in err
    assert json.loads(out)["outputs"]["output"]["shape"] == [1, 8]
    code, out, _err = _run(capsys, "run", path, "--shape", "input:2x3x8x8", "--json")
    assert code == 0
    assert json.loads(out)["outputs"]["output"]["shape"] == [2, 8]


def test_run_bad_arguments(
    made_models: dict[str, MadeModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(made_models["static_conv"].path)
    with pytest.raises(SystemExit) as exc:
        main(["run", path, "--input", "no-equals-sign"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["run", path, "--shape", "input:1xthree"])
    assert exc.value.code == 2
    capsys.readouterr()
    code, _out, err = _run(capsys, "run", path, "--input", f"nope={tmp_path / 'x.npy'}")
    assert code == 1 and "'nope'" in err
    code, _out, err = _run(capsys, "run", path, "--input", f"input={tmp_path / 'x.npy'}")
    assert code == 1 and "Cannot read input 'input'" in err
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((1, 3, 16, 16)))  # float64
    code, _out, err = _run(capsys, "run", path, "--input", f"input={wrong}")
    assert code == 1 and "dtype float64" in err


@no_gpu
def test_run_engine_without_gpu(engine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "run", str(engine))
    assert code == 1 and out == ""
    assert "needs an NVIDIA GPU" in err


# -- bench -------------------------------------------------------------------------------------


def test_bench_onnx_json(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(made_models["static_conv"].path)
    code, out, _err = _run(capsys, "bench", path, "--iterations", "5", "--warmup", "1", "--json")
    assert code == 0
    data = json.loads(out)
    # Issue #10: snake_case keys; --warmup is milliseconds, as trtexec's --warmUp.
    assert data["iterations"] == 5 and data["warmup_ms"] == 1
    assert data["throughput_qps"] > 0
    assert data["latency_ms"]["count"] == 5
    assert "gpu_compute_time_ms" not in data  # ONNX Runtime on the CPU has no CUDA events


def test_bench_text_and_duration(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(made_models["static_conv"].path)
    code, out, _err = _run(capsys, "bench", path, "--duration", "0.05", "--warmup", "0")
    assert code == 0
    assert "Throughput: " in out and "Latency: min = " in out


def test_bench_iterations_and_duration_exclusive(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            ["bench", str(made_models["static_conv"].path), "--iterations", "3", "--duration", "1"]
        )
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["bench", str(made_models["static_conv"].path), "--iterations", "0"])


@no_gpu
def test_bench_engine_without_gpu(engine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "bench", str(engine), "--iterations", "2")
    assert code == 1 and "needs an NVIDIA GPU" in err
