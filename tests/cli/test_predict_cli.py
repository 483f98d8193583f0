"""`trtgui-cli predict`: text, JSON, --save, --demo and the error paths."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from trtgui.cli.main import main
from trtgui.core.predict.demo import load_demo


def test_demo_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "--demo"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("espresso") and "%" in first
    assert "runner    ONNX Runtime" in out and "timings" in out and "inference" in out


def test_readme_command(capsys: pytest.CaptureFixture[str]) -> None:
    demo = load_demo()
    coffee = next(p for p in demo.images if p.name.startswith("coffee"))
    assert main(["predict", str(demo.model), str(coffee)]) == 0
    assert capsys.readouterr().out.startswith("espresso")


def test_demo_with_another_photo_json_and_save(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = load_demo()
    chelsea = next(p for p in demo.images if p.name.startswith("chelsea"))
    saved = tmp_path / "out" / "cat.png"
    code = main(["predict", "--demo", str(chelsea), "--json", "--top-k", "3", "--save", str(saved)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    labels = [c["label"] for c in data["prediction"]["classes"]]
    assert len(labels) == 3 and any("cat" in label for label in labels)
    assert data["saved"] == str(saved) and data["timings_ms"]["inference_ms"] > 0
    picture = Image.open(saved)
    assert picture.size == Image.open(chelsea).size
    # the drawing changed the picture (the top-k panel)
    diff = np.abs(
        np.asarray(picture.convert("RGB"), np.int16)
        - np.asarray(Image.open(chelsea).convert("RGB"), np.int16)
    )
    assert diff.max() > 50


def test_classes_without_labels_are_numbered_once(
    made_models: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "x.png"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(image)
    assert main(["predict", str(made_models["static_conv"].path), str(image), "--top-k", "2"]) == 0
    top = capsys.readouterr().out.splitlines()[:2]
    assert all(re.fullmatch(r"class \d\s+\d+\.\d\d%", line) for line in top), top


def test_imagenet_model_without_labels_reads_names(
    shared_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    assert main(["predict", str(model), str(shared_models / "images" / "coffee.png")]) == 0
    out = capsys.readouterr().out
    # coffee → espresso: the reference result in ../shared/models/README.md
    assert out.splitlines()[0].startswith("espresso") and "(class 967)" in out.splitlines()[0]
    assert "labels    ImageNet (built in)" in out


def test_text_regions(shared_models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"
    page = shared_models / "images" / "page.png"
    assert main(["predict", str(model), str(page), "--preset", "paddleocr-det"]) == 0
    out = capsys.readouterr().out
    count = int(out.split()[0])
    assert count >= 5 and "text regions above 0.3" in out


def test_options_reach_the_core(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = load_demo()
    code = main(
        [
            "predict",
            str(demo.model),
            str(demo.images[0]),
            "--preprocess",
            '{"preset": "imagenet"}',
            "--kind",
            "raw",
            "--labels",
            str(demo.labels),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "logits 1×1000 float32" in out and "preprocess imagenet" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["predict"], "needs a model"),
        (["predict", "--demo", "--preset", "nope"], "Unknown preprocessing preset"),
        (["predict", "--demo", "--size", "big"], "--size"),
        (["predict", "--demo", "--top-k", "0"], "--top-k"),
        (["predict", "--demo", "--preprocess", "{"], "not valid JSON"),
    ],
)
def test_errors_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_bad_image_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"")
    assert main(["predict", "--demo", str(bad)]) == 1
    assert "empty" in capsys.readouterr().err


def test_unwritable_save_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "--demo", "--save", str(tmp_path / "x.unknownext")]) == 1
    assert "Cannot save" in capsys.readouterr().err


def test_report_says_why_kind_and_preset(
    shared_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The picked decoder and the guessed preset each come with their evidence."""
    onnx = shared_models / "onnx" / "retinaface_mnet025_tiny.onnx"
    assert main(["predict", str(onnx), str(shared_models / "images" / "astronaut.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    kind = next(line for line in lines if line.startswith("kind "))
    preset = next(line for line in lines if line.startswith("preset "))
    # RetinaFace's output names loc/conf/landmarks: the shared README's inputs → outputs column.
    assert "faces" in kind and "loc" in kind and "landmarks" in kind
    assert preset.rstrip().endswith("retinaface")


def test_given_preset_has_no_guess_reason(capsys: pytest.CaptureFixture[str]) -> None:
    demo = load_demo()
    assert main(["predict", str(demo.model), str(demo.images[0]), "--preset", "imagenet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("preset ") for line in lines)
    assert any(line.startswith("kind      classification") for line in lines)
