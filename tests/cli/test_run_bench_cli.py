"""`trtgui-cli run` and `bench`: default shapes for dynamic dims (with a note), the ONNX Runtime
fallback for engines that cannot run here, `--warmup` in milliseconds, snake_case JSON.

Real ONNX Runtime runs, real TensorRT-RTX builds on the CPU, real models from ../shared/models.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.onnx_factory import IR_VERSION, OPSET, MadeModel
from trtgui.cli.main import main
from trtgui.core import backends, gpus
from trtgui.core.engine.runners import OrtRunner, random_feeds
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import suggest_profiles

no_gpu = pytest.mark.skipif(gpus.gpu_report().has_gpu, reason="expects a machine without GPU")
needs_rtx = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note: ")]


def _keys(value: Any) -> Iterator[str]:
    """Every key of every object in a JSON value, nested ones included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


# -- default shapes ----------------------------------------------------------------------------


def test_run_efficientnet_dynamic_batch_runs_with_batch_1(
    shared_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    code, out, err = _run(capsys, "run", str(model), "--json")
    assert code == 0, err
    data = json.loads(out)
    # models/README.md: input f32 [batch,3,224,224] -> logits [batch,1000]; batch 1 per Polygraphy
    assert data["inputs"]["input"]["shape"] == [1, 3, 224, 224]
    assert data["outputs"]["logits"]["shape"] == [1, 1000]
    notes = _notes(err)
    assert len(notes) == 1 and notes == [f"note: {data['notes'][0]}"]
    assert "input 'input' has dynamic dims" in notes[0]
    assert "choose with --shape input:1x3x224x224" in notes[0]


def test_run_ppocr_det_uses_the_build_suggestion_for_height_and_width(
    shared_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"
    # The independent source: what `build` would suggest as this model's profile.
    (profile,) = suggest_profiles(inspect_onnx(model))
    opt = list(profile.get("x").opt)  # type: ignore[union-attr]
    assert opt[2] > 1 and opt[3] > 1  # not the useless 1x3x1x1
    code, out, err = _run(capsys, "run", str(model), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["inputs"]["x"]["shape"] == opt
    # models/README.md: x [N,3,H,W] -> a probability map [N,1,H,W]
    assert data["outputs"]["sigmoid_0.tmp_0"]["shape"] == [opt[0], 1, opt[2], opt[3]]
    assert "suggests for build profiles" in _notes(err)[0]


def test_run_model_that_cannot_run_at_the_default_names_input_and_shape_arg(
    shared_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The recogniser's height must be 48 (models/README.md), which no default can know.
    model = shared_models / "onnx" / "ch_PP-OCRv3_rec_infer.onnx"
    code, out, err = _run(capsys, "run", str(model))
    assert code == 1 and out == ""
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "default shapes used: 'x'" in errors[0] and "--shape x:" in errors[0]
    # ... and the shape the README gives runs: T = W / 8 = 40 time steps of 6625 classes.
    code, out, err = _run(capsys, "run", str(model), "--shape", "x:1x3x48x320", "--json")
    assert code == 0, err
    assert json.loads(out)["outputs"]["softmax_5.tmp_0"]["shape"] == [1, 40, 6625]
    assert _notes(err) == []  # nothing was chosen for the user


def _two_sequences(path: Path) -> Path:
    """a, b float32 ['batch', 'seq'] -> a + b: dynamic dims that are not an image's."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"])],
        "two_sequences",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", "seq"]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", "seq"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.save(model, str(path))
    return path


def test_run_non_image_dims_default_to_1_and_follow_a_given_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(_two_sequences(tmp_path / "two.onnx"))
    code, out, err = _run(capsys, "run", model, "--json")
    assert code == 0, err
    data = json.loads(out)
    # Polygraphy's rule: every unset dynamic dim is 1.
    assert data["inputs"]["a"]["shape"] == [1, 1] and data["inputs"]["b"]["shape"] == [1, 1]
    assert len(_notes(err)) == 2
    # b shares 'batch' and 'seq' with a, so a's given shape decides b's too.
    code, out, err = _run(capsys, "run", model, "--shape", "a:2x5", "--json")
    assert code == 0, err
    assert json.loads(out)["inputs"]["b"]["shape"] == [2, 5]
    assert "batch, seq as for the other inputs" in _notes(err)[0]


def test_run_settings_profile_opt_fills_dynamic_dims(
    made_models: dict[str, MadeModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "profile.json"
    settings.write_text(
        json.dumps(
            {"profiles": [{"inputs": [
                {"name": "input", "min": [1, 3, 8, 8], "opt": [3, 3, 24, 40], "max": [4, 3, 64, 64]}
            ]}]}
        )
    )  # fmt: skip
    path = str(made_models["dynamic_spatial"].path)
    code, out, err = _run(capsys, "run", path, "--settings", str(settings), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["inputs"]["input"]["shape"] == [3, 3, 24, 40]  # the file's opt
    assert data["outputs"]["output"]["shape"] == [3, 8]  # ['N', 8] with N = 3
    assert "the opt shape of the first profile in profile.json" in _notes(err)[0]
    # A broken settings file is a one-line error, not a traceback.
    settings.write_text("{")
    code, _out, err = _run(capsys, "run", path, "--settings", str(settings))
    assert code == 1 and err.startswith("error: The settings file is not valid JSON")


# -- engines that cannot run here --------------------------------------------------------------


@pytest.fixture(scope="module")
def built_engine(
    made_models: dict[str, MadeModel], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """dynamic_spatial built by `trtgui-cli build` (real TensorRT-RTX build, CPU), opt 2x3x16x16."""
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT-RTX is not installed")
    folder = tmp_path_factory.mktemp("run_engines")
    onnx_path = folder / "dyn.onnx"
    onnx_path.write_bytes(made_models["dynamic_spatial"].path.read_bytes())
    engine = folder / "dyn.engine"
    code = main(
        ["build", str(onnx_path), "-o", str(engine), "--backend", "rtx",
         "--shapes", "input:1x3x8x8:2x3x16x16:4x3x32x32"]
    )  # fmt: skip
    assert code == 0
    return engine


@no_gpu
@needs_rtx
def test_run_engine_without_gpu_runs_its_onnx_model(
    built_engine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, out, err = _run(capsys, "run", str(built_engine), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["runner"].startswith("ONNX Runtime")
    fallback, shape_note = _notes(err)
    assert "TensorRT cannot run dyn.engine here" in fallback
    assert f"running the ONNX model it was built from, {built_engine.with_suffix('.onnx')}" in (
        fallback
    )
    # The build's profile opt (given to build above), not a guess.
    assert data["inputs"]["input"]["shape"] == [2, 3, 16, 16]
    assert "the opt shape of the engine's build record" in shape_note
    # Same seed, same input: the numbers are ONNX Runtime's on the engine's own model.
    with OrtRunner(built_engine.with_suffix(".onnx")) as ort:
        reference = ort.run(random_feeds(ort.input_infos, {"input": (2, 3, 16, 16)}, seed=0))
    assert data["outputs"]["output"]["mean"] == pytest.approx(float(reference["output"].mean()))


@no_gpu
@needs_rtx
def test_bench_engine_without_gpu_runs_its_onnx_model(
    built_engine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, out, err = _run(capsys, "bench", str(built_engine), "--iterations", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["runner"].startswith("ONNX Runtime") and data["latency_ms"]["count"] == 3
    assert data["batch"] == 2  # the profile's opt batch
    assert any("running the ONNX model it was built from" in n for n in data["notes"])
    assert len(_notes(err)) == 2


@no_gpu
@needs_rtx
def test_engine_whose_onnx_model_is_gone_is_a_one_line_error(
    built_engine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = tmp_path / "moved.engine"
    engine.write_bytes(built_engine.read_bytes())
    record = json.loads(Path(f"{built_engine}.json").read_text())
    record["onnx_path"] = str(tmp_path / "deleted.onnx")
    Path(f"{engine}.json").write_text(json.dumps(record))
    capsys.readouterr()
    for command in ("run", "bench"):
        code, out, err = _run(capsys, command, str(engine))
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and err.startswith("error: The engine cannot run here")
        assert "needs an NVIDIA GPU" in err and "deleted.onnx" in err


# -- bench: --warmup in milliseconds, snake_case JSON ------------------------------------------


def test_bench_warmup_is_milliseconds(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(made_models["static_conv"].path)
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--warmup MS milliseconds of untimed runs first, like trtexec's --warmUp" in help_text
    code, out, _err = _run(capsys, "bench", path, "--iterations", "2", "--warmup", "30", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["warmup_ms"] == 30.0
    # static_conv runs in well under 30 ms here, so a 30 ms warm-up takes several runs.
    assert data["warmup_runs"] > 1
    code, out, _err = _run(capsys, "bench", path, "--iterations", "2", "--warmup", "0", "--json")
    assert json.loads(out)["warmup_runs"] == 0
    code, out, _err = _run(capsys, "bench", path, "--iterations", "2", "--warmup", "5")
    assert code == 0 and "after 5 ms of warm-up" in out
    for bad in ("-1", "ten", "nan"):
        with pytest.raises(SystemExit) as exc:
            main(["bench", path, "--warmup", bad])
        assert exc.value.code == 2
    assert "must be 0 or more milliseconds" in capsys.readouterr().err


def test_bench_json_keys_are_snake_case(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    # multi_io: two inputs, so the inputs list has more than one entry to check.
    path = str(made_models["multi_io"].path)
    code, out, _err = _run(capsys, "bench", path, "--iterations", "3", "--warmup", "0", "--json")
    assert code == 0
    data = json.loads(out)
    bad = [key for key in _keys(data) if not SNAKE.match(key)]
    assert bad == []
    assert [i["name"] for i in data["inputs"]] == ["a", "b"]
    assert data["latency_ms"]["count"] == 3 and data["throughput_qps"] > 0
    assert {"p90", "p95", "p99", "median"} <= set(data["latency_ms"])
    assert data["total_host_walltime_s"] > 0


def test_run_json_lists_notes(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "run", str(made_models["static_conv"].path), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["notes"] == []  # a static model needs no defaults
    assert np.isfinite(json.loads(out)["outputs"]["output"]["mean"])
