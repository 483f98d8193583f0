"""The decoder registry: kinds by name, guessing from shapes, and a decoder added without
touching the others (what issue #14's faces, keypoints and text decoders will do)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from trtgui.cli.cmd_predict import KIND_CHOICES
from trtgui.core.errors import InferenceError
from trtgui.core.predict.decoders import (
    DecodeContext,
    Decoder,
    Prediction,
    base,
    decoders,
    guess_kind,
    kinds,
    postprocess,
    register,
)
from trtgui.core.predict.demo import load_demo
from trtgui.core.resources import resource_path


def test_the_kinds_in_the_order_lists_show() -> None:
    # issue #14 adds kinds between these (faces, text, ...): the first four keep their order
    first = ("classification", "detection", "segmentation", "raw")
    assert tuple(k for k in kinds() if k in first) == first and kinds()[-1] == "raw"
    assert "faces" in kinds()
    # the CLI spells them out (its --help must not import numpy): the same list
    assert ("auto", *kinds()) == KIND_CHOICES
    # the words the Inference panel's Kind list showed before the registry (issue #11)
    titles = [d.title for d in decoders()]
    assert [t for t in titles if t in _FIRST_TITLES] == list(_FIRST_TITLES)


_FIRST_TITLES = (
    "Classification",
    "Detection (boxes)",
    "Segmentation, probability map",
    "Raw outputs (statistics only)",
)


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(InferenceError, match=r"use one of classification, detection, .*, raw"):
        postprocess({"y": np.zeros((1, 3), np.float32)}, kind="sketch")


def test_a_kind_is_registered_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(
            Decoder(kind="raw", title="Raw again", rank=99, decode=lambda o, c: Prediction("raw"))
        )


def _sketch(outputs: base.Outputs, ctx: DecodeContext) -> Prediction:
    (name,) = outputs
    return Prediction(
        kind="sketch", source_outputs=(name,), stats=ctx.stats, threshold=ctx.threshold
    )


def test_a_new_decoder_needs_no_change_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered in its own module: guessed by its own test, decoded, summarised in its own
    words, listed by its rank; the existing kinds still guess as before."""
    monkeypatch.setitem(
        base._REGISTRY,
        "sketch",
        Decoder(
            kind="sketch",
            title="Sketch",
            rank=29,
            decode=_sketch,
            summarise=lambda p: f"sketch from {p.source_outputs[0]}",
            matches=lambda outputs: "strokes" in outputs,
            guess_order=1,
        ),
    )
    strokes = {"strokes": np.zeros((1, 10, 10), np.float32)}
    assert guess_kind(strokes) == "sketch"
    prediction = postprocess(strokes, threshold=0.9)
    assert prediction.kind == "sketch" and prediction.threshold == 0.9
    assert prediction.summary() == "sketch from strokes"
    assert prediction.stats[0].name == "strokes"  # statistics come with every kind
    listed = kinds()  # by rank: after detection (20), before segmentation (30)
    assert listed.index("detection") < listed.index("sketch") < listed.index("segmentation")
    assert guess_kind({"logits": np.zeros((1, 10), np.float32)}) == "classification"
    assert guess_kind({"x": np.zeros((2, 3, 5), np.int64)}) == "raw"


def test_demo_folder_of_ones_own_is_read_by_the_one_reader(tmp_path: Path) -> None:
    shipped = resource_path("demo")
    if not (shipped / "demo.json").is_file():
        pytest.skip("the demo is not in resources/demo")
    for name in ("model.onnx", "labels.txt", "coffee.jpg"):
        shutil.copy(shipped / name, tmp_path / name)
    description = {"model": "model.onnx", "labels": "labels.txt", "preset": "tflite"}
    (tmp_path / "demo.json").write_text(
        json.dumps({**description, "images": ["coffee.jpg"]}), encoding="utf-8"
    )
    demo = load_demo(tmp_path)
    assert demo.model == tmp_path / "model.onnx" and demo.images == (tmp_path / "coffee.jpg",)
    assert demo.spec.preset == "tflite" and demo.labels == tmp_path / "labels.txt"
    # a photo it names is missing: said, with the file to fix (not "reinstall trtgui")
    (tmp_path / "demo.json").write_text(
        json.dumps({**description, "images": ["gone.jpg"]}), encoding="utf-8"
    )
    with pytest.raises(InferenceError, match=r"gone\.jpg is missing\): fix .*demo\.json"):
        load_demo(tmp_path)
    (tmp_path / "demo.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InferenceError, match="malformed"):
        load_demo(tmp_path)
