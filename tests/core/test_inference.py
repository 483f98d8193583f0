"""run_prediction end to end: real models on real photos, the demo, runner choice for engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests import onnx_factory
from trtgui.core.build.record import onnx_for_engine
from trtgui.core.engine import runners
from trtgui.core.errors import BackendUnavailable, InferenceError
from trtgui.core.imaging import PRESETS
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.predict import runner_choice
from trtgui.core.predict.demo import load_demo
from trtgui.core.predict.flow import run_prediction
from trtgui.core.predict.labels import (
    IMAGENET_LABELS_SOURCE,
    default_labels_source,
    find_labels,
)

CATS = {"tiger cat", "Egyptian cat", "tabby, tabby cat", "Persian cat", "Siamese cat, Siamese"}


def test_efficientnet_coffee_is_espresso(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx",
        shared_models / "images" / "coffee.png",
        labels=shared_models / "imagenet_labels.txt",
    )
    top = report.prediction.classes[0]
    assert top.label == "espresso" and top.score > 0.9
    assert report.spec.preset == "tflite" and report.spec_guessed
    assert report.runner == "ONNX Runtime"
    assert report.input_tensor.shape == (1, 3, 224, 224)
    t = report.timings
    assert min(t.preprocess_ms, t.inference_ms, t.postprocess_ms) > 0
    assert report.comparison is None


def test_efficientnet_chelsea_is_a_cat(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx",
        shared_models / "images" / "chelsea.png",
        spec=PRESETS["tflite"],
        labels=shared_models / "imagenet_labels.txt",
        top_k=3,
    )
    assert len(report.prediction.classes) == 3
    assert CATS & {c.label for c in report.prediction.classes}


def test_paddleocr_page_regions(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx", shared_models / "images" / "page.png"
    )
    p = report.prediction
    # Issue #14: a PP-OCR detector's map is read as text regions (it was "segmentation").
    assert p.kind == "text-regions" and p.region_count is not None and p.region_count >= 5
    assert report.spec.preset == "paddleocr-det" and report.input_tensor.shape == (1, 3, 192, 384)
    assert p.boxes[0].label == "text"
    assert report.annotated().size == (384, 191)


def test_demo_predicts_espresso() -> None:
    demo = load_demo()
    assert demo.model.is_file() and demo.labels is not None and len(demo.images) >= 2
    coffee = next(p for p in demo.images if p.name.startswith("coffee"))
    report = run_prediction(demo.model, coffee, spec=demo.spec, labels=demo.labels)
    assert report.prediction.classes[0].label == demo.expected[coffee.name] == "espresso"
    # without being told: labels.txt beside the model, preprocessing from its metadata
    guessed = run_prediction(demo.model, coffee)
    assert guessed.prediction.classes[0].label == "espresso"
    assert guessed.spec.preset == "tflite" and guessed.labels_source.endswith("labels.txt")


def test_imagenet_classifier_without_labels_gets_the_built_in_names(shared_models: Path) -> None:
    """No labels given and none beside the model: a 1000-class output reads ImageNet names
    (coffee → espresso: the reference result in ../shared/models/README.md)."""
    model = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    assert not (model.parent / "labels.txt").exists()
    report = run_prediction(model, shared_models / "images" / "coffee.png", top_k=1)
    assert report.prediction.classes[0].label == "espresso"
    assert report.labels_source == IMAGENET_LABELS_SOURCE
    assert default_labels_source(model, inspect_onnx(model)) == IMAGENET_LABELS_SOURCE


def test_chosen_labels_win_over_the_built_in_ones(shared_models: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("".join(f"thing {i}\n" for i in range(1000)), encoding="utf-8")
    report = run_prediction(
        shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx",
        shared_models / "images" / "coffee.png",
        labels=mine,
        top_k=1,
    )
    # espresso is ImageNet class 967 (line 968 of the shared imagenet_labels.txt)
    assert report.prediction.classes[0].label == "thing 967"
    assert report.labels_source == str(mine)


def test_default_labels_source_says_what_a_run_will_use(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path
) -> None:
    demo = load_demo()
    assert default_labels_source(demo.model) == str(demo.model.with_name("labels.txt"))
    # an 8-class model with nothing beside it: numbered classes
    small = made_models["static_conv"].path
    assert default_labels_source(small, inspect_onnx(small)) == ""
    # an engine whose ONNX twin has a labels file beside it
    folder = tmp_path / "onnx"
    folder.mkdir()
    twin = folder / "m.onnx"
    shutil.copy(small, twin)
    (folder / "labels.txt").write_text("a\nb\n", encoding="utf-8")
    engine = tmp_path / "m.engine"
    assert default_labels_source(engine, inspect_onnx(twin), twin) == str(folder / "labels.txt")


def test_generated_model_raw_and_classification(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path
) -> None:
    image = tmp_path / "x.png"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(image)
    report = run_prediction(made_models["static_conv"].path, image, top_k=3)
    assert report.input_tensor.shape == (1, 3, 16, 16)  # from the tensor, not the preset
    assert report.prediction.kind == "classification" and len(report.prediction.classes) == 3
    assert report.prediction.classes[0].label.startswith("class ")
    assert not report.prediction.classes[0].is_named and report.labels_source == ""
    raw = run_prediction(made_models["static_conv"].path, image, kind="raw")
    assert raw.prediction.kind == "raw" and raw.prediction.stats[0].shape == (1, 8)
    data = raw.to_dict()
    assert data["runner"] == "ONNX Runtime" and data["preprocess"]["shape"] == [1, 3, 16, 16]
    json.dumps(data)


def test_dynamic_spatial_model_uses_the_spec_size(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path
) -> None:
    image = tmp_path / "x.png"
    Image.new("RGB", (64, 48)).save(image)
    from dataclasses import replace

    spec = replace(PRESETS["unit"], height=24, width=40)
    report = run_prediction(made_models["dynamic_spatial"].path, image, spec=spec)
    assert report.input_tensor.shape == (1, 3, 24, 40)


def test_multi_input_model_is_refused(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path
) -> None:
    image = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(image)
    with pytest.raises(InferenceError, match="image input"):
        run_prediction(made_models["multi_io"].path, image)


def test_bad_image_and_missing_model(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a picture", encoding="utf-8")
    with pytest.raises(InferenceError, match="not an image"):
        run_prediction(made_models["static_conv"].path, bad)
    with pytest.raises(InferenceError, match="does not exist"):
        run_prediction(tmp_path / "nope.onnx", bad)
    with pytest.raises(InferenceError, match="folder"):
        run_prediction(tmp_path, bad)


# -- engines --------------------------------------------------------------------------------


def _engine_with_record(folder: Path, onnx: Path, relative: bool = False) -> Path:
    engine = folder / "model.engine"
    engine.write_bytes(b"not a real plan file" * 10)
    target = onnx.name if relative else str(onnx)
    if relative:
        shutil.copy(onnx, folder / onnx.name)
    (folder / "model.engine.json").write_text(
        json.dumps({"onnx_path": target, "settings": {"precision": "fp16"}}), encoding="utf-8"
    )
    return engine


def test_engine_that_cannot_run_falls_back_to_its_onnx(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path
) -> None:
    engine = _engine_with_record(tmp_path, made_models["static_conv"].path, relative=True)
    assert onnx_for_engine(engine)[0] == tmp_path / "static_conv.onnx"
    image = tmp_path / "x.png"
    Image.new("RGB", (16, 16)).save(image)
    report = run_prediction(engine, image)
    assert report.runner == "ONNX Runtime" and report.engine_path == engine
    assert any("TensorRT not used" in n for n in report.notes)
    # the reason is a clause of the note: no full stop before "; running ..."
    assert not any(".;" in n for n in report.notes)
    assert report.comparison is None


def test_engine_without_record_is_explained(tmp_path: Path) -> None:
    engine = tmp_path / "lonely.engine"
    engine.write_bytes(b"x" * 64)
    image = tmp_path / "x.png"
    Image.new("RGB", (16, 16)).save(image)
    assert onnx_for_engine(engine)[0] is None
    with pytest.raises(InferenceError, match="no ONNX model is known"):
        run_prediction(engine, image)


class _StandInTrtRunner(runners.OrtRunner):
    """Plays TensorRT for the orchestration test (no GPU here): ONNX Runtime on the engine's
    ONNX model, plus a small offset so the comparison sees two different result sets."""

    def __init__(self, engine_path: Any, *args: Any, **kwargs: Any) -> None:
        onnx, _ = onnx_for_engine(engine_path)
        super().__init__(onnx)  # type: ignore[arg-type]

    def run(self, feeds: Any) -> dict[str, np.ndarray]:
        return {k: v + 1e-4 for k, v in super().run(feeds).items()}


def test_engine_and_onnx_both_run_and_compare(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_choice, "TrtRunner", _StandInTrtRunner)
    engine = _engine_with_record(tmp_path, made_models["static_conv"].path)
    image = tmp_path / "x.png"
    Image.new("RGB", (16, 16), (1, 2, 3)).save(image)
    report = run_prediction(engine, image)
    assert report.runner == "TensorRT"
    assert report.timings.reference_inference_ms is not None
    try:
        import trtgui.core.predict.compare  # noqa: F401
    except ImportError:
        assert any("comparison unavailable" in n for n in report.notes)
    else:
        # the record says fp16: a 1e-4 offset is inside its tolerance
        assert report.comparison is not None and report.comparison.passed
        assert json.dumps(report.to_dict()["comparison"])
        from trtgui.cli.cmd_predict import format_report

        assert "TensorRT vs ONNX Runtime: PASSED" in format_report(report)
    solo = run_prediction(engine, image, compare=False)
    assert solo.runner == "TensorRT" and solo.timings.reference_inference_ms is None


def test_engine_runner_failure_is_a_note(
    made_models: dict[str, onnx_factory.MadeModel], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise BackendUnavailable("no usable NVIDIA GPU here")

    monkeypatch.setattr(runner_choice, "TrtRunner", refuse)
    engine = _engine_with_record(tmp_path, made_models["static_conv"].path)
    image = tmp_path / "x.png"
    Image.new("RGB", (16, 16)).save(image)
    report = run_prediction(engine, image)
    assert report.runner == "ONNX Runtime"
    assert any("no usable NVIDIA GPU here" in n for n in report.notes)


def test_labels_from_metadata_and_files(tmp_path: Path) -> None:
    model = tmp_path / "yolo.onnx"
    assert find_labels(model, {"names": "{0: 'person', 1: 'bicycle'}"}) == (
        ("person", "bicycle"),
        "model metadata",
    )
    assert find_labels(model, {"names": "not python"}) == (None, "")
    (tmp_path / "yolo.labels.txt").write_text("a\nb\n", encoding="utf-8")
    labels, source = find_labels(model)
    assert labels == ("a", "b") and source.endswith("yolo.labels.txt")
