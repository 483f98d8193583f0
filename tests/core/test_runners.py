"""OrtRunner on generated and real models; feed checking; random inputs; TrtRunner without a GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.onnx_factory import MadeModel
from trtgui.core.engine.runners import OrtRunner, check_feeds, random_feeds
from trtgui.core.errors import InferenceError, ModelLoadError
from trtgui.core.tensors import TensorSpec


def test_static_model_runs_and_reports_io(made_models: dict[str, MadeModel]) -> None:
    made = made_models["static_conv"]
    with OrtRunner(made.path) as runner:
        assert runner.input_infos == (TensorSpec("input", "float32", (1, 3, 16, 16)),)
        assert runner.output_infos == (TensorSpec("output", "float32", (1, 8), is_input=False),)
        assert "CPUExecutionProvider" in runner.providers
        out = runner.run({"input": np.ones((1, 3, 16, 16), np.float32)})
    assert list(out) == ["output"]
    assert out["output"].shape == (1, 8)
    assert out["output"].dtype == np.float32
    assert runner.last_run_ms is not None and runner.last_run_ms >= 0


def test_runners_share_one_interface(made_models: dict[str, MadeModel]) -> None:
    """Code that runs "a runner" (the prediction flow, `run`, `bench`) holds a `Runner`."""
    from trtgui.core.engine.cuda import open_cuda
    from trtgui.core.engine.runners import Runner

    runner: Runner
    with OrtRunner(made_models["static_conv"].path, providers=["CPUExecutionProvider"]) as runner:
        assert runner.title == "ONNX Runtime (CPUExecutionProvider)"
        assert [t.is_input for t in (*runner.input_infos, *runner.output_infos)] == [True, False]
    with pytest.raises(ValueError, match="unknown CUDA api 'opencl'"):
        open_cuda("opencl")


def test_dynamic_dims_are_symbolic(made_models: dict[str, MadeModel]) -> None:
    with OrtRunner(made_models["dynamic_spatial"].path) as runner:
        (inp,) = runner.input_infos
        assert inp.shape == ("N", 3, "H", "W")
        assert inp.is_dynamic
        out = runner.run({"input": np.zeros((2, 3, 20, 12), np.float32)})
    assert out["output"].shape == (2, 8)


def test_multi_io_keyed_by_name(made_models: dict[str, MadeModel]) -> None:
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    b = np.full((2, 4), 3, dtype=np.int64)
    with OrtRunner(made_models["multi_io"].path) as runner:
        # Feed order must not matter.
        out = runner.run({"b": b, "a": a})
    assert list(out) == ["sum", "product", "b_as_float"]
    np.testing.assert_array_equal(out["sum"], a + 3)
    np.testing.assert_array_equal(out["product"], a * 3)


@pytest.mark.parametrize(
    ("feeds", "fragment"),
    [
        ({}, "Missing input 'input'"),
        (
            {"input": np.zeros((1, 3, 16, 16), np.float32), "other": np.zeros(1)},
            "Unknown input 'other'",
        ),
        ({"input": np.zeros((1, 3, 16, 16), np.float64)}, "dtype float64"),
        ({"input": np.zeros((3, 16, 16), np.float32)}, "has 3 dimensions"),
        ({"input": np.zeros((1, 3, 16, 17), np.float32)}, "dimension 3 must be 16"),
        ({"input": [[1.0]]}, "must be a numpy array"),
    ],
)
def test_bad_feeds_raise_inference_error(
    made_models: dict[str, MadeModel], feeds: dict[str, np.ndarray], fragment: str
) -> None:
    with (
        OrtRunner(made_models["static_conv"].path) as runner,
        pytest.raises(InferenceError, match=fragment),
    ):
        runner.run(feeds)


def test_external_data_model(made_models: dict[str, MadeModel]) -> None:
    with OrtRunner(made_models["external_data"].path) as runner:
        out = runner.run({"input": np.ones((1, 3, 16, 16), np.float32)})
    assert out["output"].shape == (1, 64)


def _rewrite_ir(src: Path, dst_dir: Path, ir: int, external: bool) -> Path:
    model = onnx.load(str(src))
    model.ir_version = ir
    dst = dst_dir / f"ir{ir}.onnx"
    if external:
        onnx.save(
            model,
            str(dst),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="weights.bin",
            size_threshold=0,
        )
    else:
        onnx.save(model, str(dst))
    return dst


def ort_refuses_ir(version: int) -> bool:
    """Ask the installed ONNX Runtime whether it refuses a one-node model of this IR version
    (1.31 refuses IR 14, 1.32 reads it): the lowering only happens where it does."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = version
    try:
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own pybind exception types
        if "ir version" in str(exc).lower():
            return True
        raise
    return False


def _first_refused_ir() -> int:
    """The lowest IR version this ONNX Runtime refuses: one newer than it can read."""
    return next(v for v in range(onnx.IR_VERSION, onnx.IR_VERSION + 20) if ort_refuses_ir(v))


def _run_both(src: Path, other: Path) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Outputs of the original model and of its rewritten copy on the same input, and the IR
    version the copy's runner lowered from (None: it loaded as it is)."""
    x = np.random.default_rng(1).random((1, 3, 16, 16), dtype=np.float32)
    with OrtRunner(src) as ref:
        expected = ref.run({"input": x})["output"]
    with OrtRunner(other) as runner:
        lowered_from = runner.ir_lowered_from
        got = runner.run({"input": x})["output"]
    return got, expected, lowered_from


@pytest.mark.parametrize("external", [False, True])
def test_model_saved_by_current_onnx_runs(
    made_models: dict[str, MadeModel],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    external: bool,
) -> None:
    """IR 14 is what onnx 1.23 writes: the user's model runs and gives the original's outputs,
    whatever IR version the installed ONNX Runtime reads."""
    newer = _rewrite_ir(made_models["static_conv"].path, tmp_path, 14, external)
    # Run from another working directory: external data must resolve against the model dir.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got, expected, lowered_from = _run_both(made_models["static_conv"].path, newer)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # Lowered only where this ONNX Runtime refuses IR 14; never rewritten needlessly.
    assert lowered_from == (14 if ort_refuses_ir(14) else None)


@pytest.mark.parametrize("external", [False, True])
def test_newer_ir_version_is_lowered(
    made_models: dict[str, MadeModel],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    external: bool,
) -> None:
    """A model one IR version past what this ONNX Runtime reads (asked, not assumed) is
    lowered in memory and runs with the original's outputs."""
    future = _first_refused_ir()
    newer = _rewrite_ir(made_models["static_conv"].path, tmp_path, future, external)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got, expected, lowered_from = _run_both(made_models["static_conv"].path, newer)
    assert lowered_from == future
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert onnx.load(str(newer), load_external_data=False).ir_version == future  # file untouched


@pytest.mark.parametrize("ir", [14, None])
def test_missing_external_data_is_model_load_error(
    made_models: dict[str, MadeModel], tmp_path: Path, ir: int | None
) -> None:
    # None: a version this ONNX Runtime refuses, so the error comes from the lowering path.
    version = ir if ir is not None else _first_refused_ir()
    newer = _rewrite_ir(made_models["static_conv"].path, tmp_path, version, external=True)
    (tmp_path / "weights.bin").unlink()
    with pytest.raises(ModelLoadError, match=r"ir\d+\.onnx"):
        OrtRunner(newer)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        OrtRunner(tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf \xff\xfe" * 10)
    with pytest.raises(ModelLoadError, match=r"junk\.onnx"):
        OrtRunner(junk)


def test_unknown_op_is_model_load_error(made_models: dict[str, MadeModel]) -> None:
    with pytest.raises(ModelLoadError):
        OrtRunner(made_models["unknown_op"].path)


def test_closed_runner_refuses(made_models: dict[str, MadeModel]) -> None:
    runner = OrtRunner(made_models["static_conv"].path)
    runner.close()
    with pytest.raises(InferenceError, match="closed"):
        runner.run({"input": np.zeros((1, 3, 16, 16), np.float32)})


def test_random_feeds_fixed_seed_and_dynamic_error() -> None:
    inputs = (TensorSpec("x", "float32", (1, 3)), TensorSpec("ids", "int64", (2,)))
    a = random_feeds(inputs, seed=3)
    b = random_feeds(inputs, seed=3)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert a["ids"].dtype == np.int64
    dyn = (TensorSpec("x", "float32", ("batch", 3)),)
    with pytest.raises(InferenceError, match="--shape x:1x3"):
        random_feeds(dyn)
    assert random_feeds(dyn, {"x": (4, 3)})["x"].shape == (4, 3)


def test_check_feeds_makes_contiguous() -> None:
    x = np.zeros((4, 6), np.float32)[:, ::2]
    out = check_feeds({"x": x}, (TensorSpec("x", "float32", (4, None)),))
    assert out["x"].flags["C_CONTIGUOUS"]


# -- real models from ../shared/models ---------------------------------------------------------


def test_efficientnet_lite0_random_input(shared_models: Path) -> None:
    path = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    with OrtRunner(path) as runner:
        assert runner.input_infos[0].shape == ("batch", 3, 224, 224)
        feeds = random_feeds(runner.input_infos, {"input": (1, 3, 224, 224)}, seed=0)
        out = runner.run(feeds)
    assert out["logits"].shape == (1, 1000)
    assert np.isfinite(out["logits"]).all()


def test_efficientnet_lite0_classifies_coffee(shared_models: Path) -> None:
    from PIL import Image

    image = Image.open(shared_models / "images" / "coffee.png").convert("RGB")
    w, h = image.size
    scale = 256 / min(w, h)
    image = image.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR)
    w, h = image.size
    left, top = (w - 224) // 2, (h - 224) // 2
    image = image.crop((left, top, left + 224, top + 224))
    x = (np.asarray(image, np.float32) - 127.0) / 128.0
    x = x.transpose(2, 0, 1)[None].copy()
    with OrtRunner(shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx") as runner:
        logits = runner.run({"input": x})["logits"][0]
    labels = (shared_models / "imagenet_labels.txt").read_text().splitlines()
    assert labels[int(np.argmax(logits))] == "espresso"


def test_mtcnn_pnet_two_outputs(shared_models: Path) -> None:
    with OrtRunner(shared_models / "onnx" / "mtcnn_pnet.onnx") as runner:
        out = runner.run({"input": np.zeros((1, 3, 48, 48), np.float32)})
    assert set(out) == {"reg", "prob"}
    assert out["prob"].shape[:2] == (1, 2)
    assert out["reg"].shape[:2] == (1, 4)


def test_ppocr_det_dynamic_hw(shared_models: Path) -> None:
    with OrtRunner(shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx") as runner:
        out = runner.run({"x": np.zeros((1, 3, 64, 96), np.float32)})
    (prob,) = out.values()
    assert prob.shape == (1, 1, 64, 96)
