"""The Engine panel: a real engine built by TensorRT-RTX on the CPU (banner: cannot load here,
header still shown) and sample EngineInfo data (tables filled, precision summary correct)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests import onnx_factory
from trtgui.core import backends, gpus
from trtgui.core.build.record import parse_record
from trtgui.core.engine.info import EngineInfo, EngineLayer, EngineTensor, ProfileShapes
from trtgui.core.engine.plan import (
    EngineCheck,
    InstalledBackend,
    PlanHeader,
    Verdict,
    check_engine,
)
from trtgui.core.errors import BackendUnavailable
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.gui.engine_models import (
    format_shape,
    layer_rows_from,
    normalise_precision,
    precision_summary,
)
from trtgui.gui.engine_panel import EnginePanel

# -- sample data (made up here, not read from any engine) ---------------------------------------

SAMPLE_PRECISIONS = ["FP16"] * 40 + ["FP32"] * 12 + ["INT8"] * 6 + [""] * 2  # 60 layers


def sample_header(path: Path = Path("/samples/sample_classifier.engine")) -> PlanHeader:
    return PlanHeader(
        path=path,
        file_size=9_437_184,
        tag="ftrt",
        serialization_version=0,
        version=(10, 13, 0, 35),
        backend="tensorrt",
    )


def sample_engine_info(path: Path = Path("/samples/sample_classifier.engine")) -> EngineInfo:
    """Sample data: a classifier engine with two profiles and 60 layers of mixed precision."""
    layer_types = ["CaskConvolution", "PointWiseV2", "CaskPooling", "Reformat", "Shuffle"]
    layers = tuple(
        EngineLayer(
            name=f"/features/block{i // 5}/layer{i}",
            type=layer_types[i % len(layer_types)],
            precision=prec,
            tactic=f"sm80_xmma_fprop_implicit_gemm_{i:03d}",
            inputs=(f"t{i} [-1,32,56,56] Row major linear {prec or 'FP32'}",),
            outputs=(f"t{i + 1} [-1,32,56,56] Row major linear {prec or 'FP32'}",),
        )
        for i, prec in enumerate(SAMPLE_PRECISIONS)
    )
    tensors = (
        EngineTensor(
            name="input",
            is_input=True,
            dtype="float32",
            shape=(-1, 3, 224, 224),
            profiles=(
                ProfileShapes((1, 3, 224, 224), (4, 3, 224, 224), (8, 3, 224, 224)),
                ProfileShapes((16, 3, 224, 224), (32, 3, 224, 224), (64, 3, 224, 224)),
            ),
        ),
        EngineTensor(name="logits", is_input=False, dtype="float32", shape=(-1, 1000)),
    )
    return EngineInfo(
        path=path,
        header=sample_header(path),
        backend="tensorrt",
        backend_version="10.13.0.35",
        tensors=tensors,
        num_profiles=2,
        device_memory_bytes=48 * 1024 * 1024,
        num_layers=len(layers),
        layers=layers,
        precision_summary={"FP16": 40, "FP32": 12, "INT8": 6, "unknown": 2},
        profiling_verbosity="DETAILED",
    )


def sample_check(path: Path = Path("/samples/sample_classifier.engine")) -> EngineCheck:
    """Sample data: a check that says the engine loads here."""
    return EngineCheck(
        header=sample_header(path),
        verdict=Verdict("ok", "built with NVIDIA TensorRT 10.13; it can load it.", True),
        installed=(InstalledBackend("tensorrt", "NVIDIA TensorRT", True, "10.13.0.35"),),
        gpus=(gpus.GpuInfo(0, "Sample GPU", (8, 9), 24 * 1024**3),),
        gpu_reason="",
        record=parse_record(
            {"settings": {"precision": "fp16", "onnx_path": "/samples/model.onnx"}}
        ),
        record_path=path.with_name(path.name + ".json"),
    )


# -- a real engine ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rtx_engine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real engine of a tiny conv net, built by TensorRT-RTX on the CPU, with a sidecar."""
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT for RTX is not installed")
    tmp = tmp_path_factory.mktemp("engine")
    model = onnx_factory.static_conv(tmp)
    engine = tmp / "static_conv.engine"
    try:
        from trtgui.core.build.builder import build_engine
        from trtgui.core.build.settings import BuildSettings

        build_engine(
            BuildSettings(onnx_path=str(model.path), output_path=str(engine), backend="rtx")
        )
    except ImportError:  # the build module is not there: build with the backend directly
        trt = backends.load_trt("rtx")
        logger = trt.Logger(trt.Logger.ERROR)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        assert parser.parse_from_file(str(model.path))
        config = builder.create_builder_config()
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        engine.write_bytes(bytes(builder.build_serialized_network(network, config)))
        sidecar = {
            "settings": {"onnx_path": str(model.path), "precision": "fp32", "backend": "rtx"},
            "backend": "rtx",
            "backend_version": trt.__version__,
            "io_tensors": [
                {"name": "input", "is_input": True, "dtype": "float32", "shape": [1, 3, 16, 16]},
                {"name": "output", "is_input": False, "dtype": "float32", "shape": [1, 8]},
            ],
        }
        engine.with_name(engine.name + ".json").write_text(json.dumps(sidecar))
    return engine


def _no_gpu_here() -> bool:
    return not gpus.gpu_report().has_gpu


# -- tests -----------------------------------------------------------------------------------------


def test_real_rtx_engine_without_gpu_shows_banner_and_header(qtbot, rtx_engine: Path) -> None:
    if not _no_gpu_here():
        pytest.skip("this machine has a GPU; the banner test is for machines without one")
    panel = EnginePanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.load_finished, timeout=20000):
        panel.open_engine(rtx_engine)
    panel.wait()

    assert panel.engine_path() == rtx_engine
    assert panel.banner.isVisibleTo(panel)
    assert panel.banner.level() in ("warning", "error")
    assert "cannot be loaded here" in panel.banner.message()
    assert "GPU" in panel.banner.message()
    values = panel.header_view.values()
    version = check_engine(rtx_engine).header.version_str
    assert values["Built with"] == f"TensorRT for RTX {version}"
    assert "none" in values["GPU"]
    # the network I/O recorded at build time is shown
    names = [r.name for r in panel.io_model.rows()]
    assert names == ["input", "output"]
    assert panel.io_model.rows()[0].shape == (1, 3, 16, 16)
    assert panel.layer_model.rowCount() == 0
    # the sidecar is shown
    assert "settings" in panel.sidecar_text.toPlainText()
    assert panel.build_view.values().get("ONNX model", "").endswith("static_conv.onnx")
    # the build record box lists what people ask about, not every sidecar field
    record = panel.build_view.values()
    assert record["Backend"].startswith("TensorRT for RTX ")
    assert "Build time" in record and "Onnx sha256" not in record and len(record) <= 14
    # the details link unfolds the technical text
    assert not panel.banner.details_visible()
    panel.banner.toggle_details()
    assert panel.banner.details_visible()
    # the verdict in words, never its raw status; why there is no GPU said once
    from trtgui.core.engine.plan import VERDICT_WORDS

    details = panel.banner.details()
    assert f"Verdict: {VERDICT_WORDS['needs_gpu']}" in details
    assert "needs_gpu" not in details
    reason = gpus.gpu_report().reason
    assert reason and details.count(reason) == 1


def test_engine_io_takes_dim_names_from_the_onnx_model(qtbot, made_models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The sidecar names the ONNX file; its symbolic dims name the engine's -1 dims, and the
    build record speaks of backends and precisions as the Build panel does."""
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT for RTX is not installed")
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.model.profiles import suggest_profiles

    model = made_models["dynamic_batch"].path
    engine = tmp_path / "dynamic_batch.engine"
    profiles = suggest_profiles(inspect_onnx(model))
    result = build_engine(
        BuildSettings(
            onnx_path=str(model), output_path=str(engine), backend="rtx", profiles=profiles
        )
    )
    panel = EnginePanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.load_finished, timeout=20000):
        panel.show_build_result(result)
    panel.wait()
    shapes = [panel.io_model.index(r, 3).data() for r in range(panel.io_model.rowCount())]
    assert shapes == ["batch×3×16×16", "batch×8"]
    values = panel.build_view.values()
    assert values["Backend"].startswith("TensorRT for RTX ")
    assert values["Backend setting"] == "TensorRT for RTX"
    assert values["Precision"] == "FP32"


def test_show_unavailable_keeps_header(qtbot, rtx_engine: Path) -> None:
    panel = EnginePanel()
    qtbot.addWidget(panel)
    panel.show_check(check_engine(rtx_engine))
    panel.show_unavailable(
        BackendUnavailable(
            "TensorRT for RTX does not support this GPU (compute capability 9.0).",
            details="Supported compute capabilities: 8.0 8.6 8.9 12.0 12.1 >12.0",
        )
    )
    assert panel.banner.level() in ("warning", "error")
    assert "Supported compute capabilities" in panel.banner.details()
    assert panel.header_view.values()["Built with"].startswith("TensorRT for RTX 1.")


def test_sample_engine_info_fills_tables(qtbot) -> None:
    panel = EnginePanel()
    qtbot.addWidget(panel)
    panel.show_check(sample_check())
    panel.show_info(sample_engine_info())

    assert panel.banner.level() == "ok"
    # I/O: inputs first, one column per profile
    io = panel.io_model
    assert io.rowCount() == 2
    assert io.columnCount() == len(io.BASE_COLUMNS) + 2
    idx = io.index(0, len(io.BASE_COLUMNS) + 1)
    assert io.data(idx) == "16×3×224×224  ·  32×3×224×224  ·  64×3×224×224"
    assert io.data(io.index(0, 3)) == "?×3×224×224"
    assert io.data(io.index(1, 1)) == "Output"
    # layers and the precision summary
    assert panel.layer_model.rowCount() == 60
    assert panel.summary_model.summary() == {"FP16": 40, "FP32": 12, "INT8": 6, "Unknown": 2}
    assert panel.tabs.tabText(1) == "Layers (60)"
    values = panel.header_view.values()
    assert values["Device memory"] == "48.0 MiB"
    assert values["Profiles"] == "2"
    # TensorRT's enum name DETAILED and the verdict status "ok" are said in words
    assert values["Profiling verbosity"] == "detailed"
    assert panel.banner.details().splitlines()[0] == "Verdict: Loads on this machine."
    # filtering the layer table
    panel.layer_filter.setText("int8")
    assert panel.layer_proxy.rowCount() == 6
    assert panel.run_button.isEnabled()


def test_precision_helpers() -> None:
    rows = layer_rows_from(sample_engine_info().layers)
    assert precision_summary(rows) == {"FP16": 40, "FP32": 12, "INT8": 6, "Unknown": 2}
    assert normalise_precision("Row major linear FP16 format") == "FP16"
    assert normalise_precision("kHALF") == "FP16"
    assert normalise_precision("") == "Unknown"
    assert format_shape((-1, 3, None, "h")) == "?×3×?×h"
    assert format_shape(None) == "unknown"
    assert format_shape(()) == "scalar"
    # the ONNX model's names label the dims an engine only knows as -1; fixed dims stay numbers
    assert format_shape((-1, 3, 224, 224), ("batch", 3, 224, 224)) == "batch×3×224×224"
    assert format_shape((-1, 8), ("batch", "n")) == "batch×8"
    assert format_shape((-1, 8), ("batch",)) == "?×8"  # another rank: no names


def test_run_on_image_intent_and_drop(qtbot, rtx_engine: Path) -> None:
    panel = EnginePanel()
    qtbot.addWidget(panel)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(rtx_engine))])
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with (
        qtbot.waitSignal(panel.open_engine_requested) as opened,
        qtbot.waitSignal(panel.load_finished, timeout=20000),
    ):
        panel.dropEvent(drop)
    panel.wait()
    assert opened.args == [str(rtx_engine)]
    with qtbot.waitSignal(panel.run_on_image_requested) as run:
        panel.run_button.click()
    assert run.args == [str(rtx_engine)]


def test_corrupt_engine_goes_to_error_funnel(qtbot, tmp_path: Path) -> None:
    from trtgui.gui import errors

    bad = tmp_path / "not_an_engine.engine"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    panel = EnginePanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.load_finished, timeout=20000):
        panel.open_engine(bad)
    panel.wait()
    assert panel.banner.level() == "error"
    assert "not a TensorRT engine" in panel.banner.message()
    assert errors.last_box is not None
    errors.last_box.close()
    # still usable: a good file opens afterwards
    panel.show_check(sample_check())
    assert panel.banner.level() == "ok"


def test_signals_go_out_when_rendering_raises(qtbot, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.engine.load import EngineLoadOutcome
    from trtgui.gui import engine_panel

    path = tmp_path / "sample.engine"
    path.write_bytes(bytes(64))
    outcome = EngineLoadOutcome(path, sample_check(), None, None)
    monkeypatch.setattr(engine_panel, "load_engine", lambda p: outcome)
    panel = EnginePanel()
    qtbot.addWidget(panel)

    def broken(check: object, *sidecar: object) -> None:  # the sidecar text made off-thread
        raise RuntimeError("a rendering bug")

    monkeypatch.setattr(panel, "show_check", broken)
    with qtbot.capture_exceptions() as caught:
        with qtbot.waitSignals([panel.engine_loaded, panel.load_finished], timeout=20000):
            panel.open_engine(path)
        panel.wait()
    assert [type(exc) for _, exc, _ in caught] == [RuntimeError]
    assert not panel.is_busy()
