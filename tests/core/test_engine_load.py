"""`engine.load.load_engine`: what the Engine panel's worker hands back, over real engines
built by TensorRT-RTX on the CPU (so this machine cannot deserialize them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.onnx_factory import MadeModel
from trtgui.core import backends, gpus
from trtgui.core.build.record import record_path
from trtgui.core.engine.load import load_engine, source_model
from trtgui.core.errors import BackendUnavailable, EngineLoadError


@pytest.fixture(scope="module")
def built(made_models: dict[str, MadeModel], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An engine of the dynamic-batch model built by trtgui, so its build record names it."""
    if not backends.probe_backend("rtx").available:
        pytest.skip("tensorrt_rtx is not installed")
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.core.model.profiles import suggest_profiles

    model = made_models["dynamic_batch"].path
    engine = tmp_path_factory.mktemp("load") / "dynamic_batch.engine"
    settings = BuildSettings(
        onnx_path=str(model),
        output_path=str(engine),
        backend="rtx",
        profiles=suggest_profiles(inspect_onnx(model)),
    )
    return build_engine(settings).engine_path


def test_outcome_without_gpu_has_the_check_the_reason_and_the_model(built: Path) -> None:
    if gpus.gpu_report().has_gpu:
        pytest.skip("a GPU is present: the engine may load")
    outcome = load_engine(built)
    assert outcome.path == built
    assert outcome.check.header.backend == "rtx"
    assert outcome.check.record is not None
    # the build recorded -1 for the dynamic batch; the ONNX model (dynamic_batch factory) says
    # "batch"
    assert [t.shape for t in outcome.check.build_io] == [(-1, 3, 16, 16), (-1, 8)]
    assert outcome.info is None
    assert isinstance(outcome.inspect_error, BackendUnavailable)
    assert outcome.model is not None
    assert [t.shape for t in outcome.model.inputs] == [("batch", 3, 16, 16)]


def test_check_json_holds_the_record_as_written(built: Path) -> None:
    """`trtgui-cli engine --json` prints the build record under "sidecar" as the build wrote
    it, key for key: scripts read those keys."""
    written = json.loads(record_path(built).read_text(encoding="utf-8"))
    data = load_engine(built).check.to_dict()
    assert data["sidecar"] == written
    assert data["sidecar_path"] == str(record_path(built))
    assert data["build_io"][0] == {
        "name": "input",
        "is_input": True,
        "dtype": "float32",
        "shape": [-1, 3, 16, 16],
    }


def test_model_is_none_when_the_onnx_is_gone(built: Path, tmp_path: Path) -> None:
    engine = tmp_path / "moved.engine"
    engine.write_bytes(built.read_bytes())
    record = json.loads(record_path(built).read_text(encoding="utf-8"))
    record["onnx_path"] = str(tmp_path / "gone.onnx")
    record["settings"]["onnx_path"] = str(tmp_path / "gone.onnx")
    record_path(engine).write_text(json.dumps(record), encoding="utf-8")
    assert source_model(engine) is None
    outcome = load_engine(engine)
    assert outcome.model is None and outcome.check.record is not None


def test_a_bad_record_is_reported_not_fatal(built: Path, tmp_path: Path) -> None:
    engine = tmp_path / "bad_record.engine"
    engine.write_bytes(built.read_bytes())
    record_path(engine).write_text(json.dumps({"io_tensors": "not a list"}), encoding="utf-8")
    outcome = load_engine(engine)
    assert outcome.check.record is None
    assert "io_tensors" in outcome.check.record_problem  # the field is named
    assert outcome.check.build_io == () and outcome.model is None


def test_a_file_that_is_no_engine_raises(tmp_path: Path) -> None:
    bad = tmp_path / "photo.engine"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(EngineLoadError, match="PNG image"):
        load_engine(bad)
