"""Issue #14, text: CTC recognition (the `text` decoder), its dictionary, the `paddleocr-rec`
preprocessing and the guesses that pick them, on hand-made scores and on the real PP-OCR
recognisers reading lines of page.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from trtgui.cli.main import main
from trtgui.core.errors import InferenceError
from trtgui.core.imaging import PRESETS, guess_preprocess, preprocess, resolve_spec
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.predict.decoders import ModelHints, explain_kind, postprocess
from trtgui.core.predict.decoders.text import ctc_greedy
from trtgui.core.predict.drawing import draw_prediction
from trtgui.core.predict.flow import run_prediction
from trtgui.core.predict.labels import default_labels_source, load_dictionary

ALPHABET = ("a", "b", "c")  # blank = 0, a b c = 1 2 3, space = 4


def _scores(steps: list[int], classes: int = 5, p: float = 0.9) -> np.ndarray:
    """[1, T, C] probabilities: step t puts `p` on class steps[t], the rest spread evenly."""
    out = np.full((1, len(steps), classes), (1 - p) / (classes - 1), np.float32)
    for t, c in enumerate(steps):
        out[0, t, c] = p
    return out


# -- CTC decoding on hand-made scores ---------------------------------------------------------


def test_greedy_decoding_collapses_repeats_and_drops_blanks() -> None:
    # steps a a blank a b b space c: repeats merge, a blank separates two a's (hand decode)
    probs = _scores([1, 1, 0, 1, 2, 2, 4, 3])[0]
    probs[0, 1], probs[1, 1] = 0.6, 0.8  # the kept step of a repeat is its first
    line = ctc_greedy(probs, ("", *ALPHABET, " "))
    assert line.text == "aab c"
    # PaddleOCR's confidence: the mean of the kept steps' best probability (steps 0, 3, 4, 6,
    # 7: 0.6, 0.9, 0.9, 0.9, 0.9 → 0.84, by hand)
    assert line.score == pytest.approx((0.6 + 0.9 * 4) / 5, abs=1e-6)
    # nothing kept: confidence 0 (CTCLabelDecode's conf_list = [0])
    assert ctc_greedy(_scores([0, 0])[0], ("", *ALPHABET, " ")).score == 0.0


def test_the_decoder_with_a_dictionary_and_its_reason() -> None:
    outputs = {"softmax_5.tmp_0": _scores([1, 0, 2, 2, 4, 3])}
    hints = ModelHints(metadata={"character": "a\nb\nc"})
    guess = explain_kind(outputs, hints)
    assert guess.kind == "text"
    assert guess.reason == 'text: output [N,T,5] with a "character" dictionary in the metadata'
    p = postprocess(
        outputs, kind=None, labels=ALPHABET, hints=hints, labels_source="model metadata"
    )
    assert p.kind == "text" and p.texts[0].text == "ab c" and p.kind_reason == guess.reason
    assert p.summary() == '"ab c" (confidence 0.90)'
    assert p.to_dict()["texts"] == [{"text": "ab c", "score": pytest.approx(0.9)}]
    # one class fewer: no space appended (PaddleOCR with use_space_char off)
    p4 = postprocess({"y": _scores([1, 3, 2], classes=4)}, kind="text", labels=ALPHABET)
    assert p4.texts[0].text == "acb"


def test_the_guess_without_metadata() -> None:
    scores = {"out": _scores([1, 2])}
    # a dictionary the user gave that fits: blank + 3 + space = 5 classes
    reason = explain_kind(scores, ModelHints(labels_count=3)).reason
    assert reason == "text: output [N,T,5] fits the 3-entry dictionary given"
    # an engine alone: paddle2onnx's output name
    named = explain_kind({"softmax_2.tmp_0": _scores([1])}, ModelHints())
    assert named.kind == "text" and "named like a PaddleOCR recogniser" in named.reason
    # [N, T, C] with nothing else is not taken for text
    assert explain_kind(scores, ModelHints()).kind != "text"


def test_logits_get_a_softmax_first() -> None:
    logits = np.log(_scores([1, 2, 3]))
    p = postprocess({"logits": logits}, kind="text", labels=ALPHABET)
    assert p.texts[0].text == "abc" and p.texts[0].score == pytest.approx(0.9, abs=1e-5)
    assert any("softmax" in n for n in p.notes)


def test_a_dictionary_that_does_not_fit_is_refused_with_what_to_do(tmp_path: Path) -> None:
    outputs = {"x": _scores([1, 2], classes=97)}
    with pytest.raises(InferenceError) as err:
        postprocess(outputs, kind="text", labels=("<html>",) * 10, labels_source="model metadata")
    assert err.value.message == (
        'The model\'s "character" metadata does not match its 97 classes (10 lines, 95 '
        "needed): give the dictionary as the labels file (--labels)."
    )
    with pytest.raises(InferenceError, match=r"dict.txt has 3 entries but the model has 97"):
        postprocess(outputs, kind="text", labels=ALPHABET, labels_source="dict.txt")
    with pytest.raises(InferenceError, match=r"dictionary is unknown.*labels file"):
        postprocess(outputs, kind="text", labels=None)


def test_a_dictionary_file_keeps_its_space_line(tmp_path: Path) -> None:
    path = tmp_path / "dict.txt"
    path.write_bytes(b"a\r\nb\r\n \r\n")  # CRLF, the last entry a space (as en_dict.txt)
    assert load_dictionary(path) == ("a", "b", " ")
    path.write_bytes(b"a\nb")  # no final line end
    assert load_dictionary(path) == ("a", "b")
    path.write_bytes(b"")
    with pytest.raises(InferenceError, match="empty"):
        load_dictionary(path)


def test_drawing_writes_the_text_under_the_line() -> None:
    p = postprocess({"x": _scores([1, 2])}, kind="text", labels=ALPHABET)
    line = Image.new("RGB", (200, 20), (255, 255, 255))
    drawn = draw_prediction(line, p)
    assert drawn.width >= 200 and drawn.height > 20  # a band below the picture
    assert drawn.crop((0, 0, 200, 20)).tobytes() == line.tobytes()  # the line untouched
    band = np.asarray(drawn.crop((0, 20, drawn.width, drawn.height)))
    assert band.max() > 200 and np.median(band) < 60  # white text on a dark band


# -- the paddleocr-rec preprocessing -----------------------------------------------------------


def test_paddleocr_rec_resizes_a_line_to_height_48_and_pads_right() -> None:
    spec = PRESETS["paddleocr-rec"]
    grey = Image.new("RGB", (100, 40), (51, 51, 51))
    tensor, box = preprocess(grey, spec)
    # predict_rec.py's resize_norm_img with rec_image_shape 3,48,320: the tensor at least 320
    # wide; the line ceil(48 * 100 / 40) = 120 wide (hand computation)
    assert tensor.shape == (1, 3, 48, 320)
    # (51 / 255 - 0.5) / 0.5 = -0.6 in the line; PaddleOCR's padding is 0 (by hand)
    assert np.allclose(tensor[..., :120], -0.6, atol=1e-6)
    assert np.all(tensor[..., 120:] == 0.0)
    assert (box.scale_x, box.scale_y) == (pytest.approx(1.2), pytest.approx(1.2))
    # a long line: the tensor int(48 * 900 / 30) = 1440 wide, no padding (by hand)
    assert preprocess(Image.new("RGB", (900, 30)), spec)[0].shape == (1, 3, 48, 1440)
    # a static width: the line squeezed or padded to it, as PaddleOCR does for fixed inputs
    fixed = resolve_spec(spec, (1, 3, 48, 320))
    assert preprocess(Image.new("RGB", (900, 30)), fixed)[0].shape == (1, 3, 48, 320)


# -- the real recognisers on lines of page.png ---------------------------------------------------

# The lines' boxes: the bounding boxes of the quadrilaterals that PaddleOCR's DBPostProcess
# (rapidocr-onnxruntime 1.4.4's copy, thresh 0.3, box_thresh 0.6, unclip 1.5, score_mode
# "slow") gives for ch_PP-OCRv4_det_infer.onnx on page.png at 384×192 with the shared
# README's preprocessing — run by hand outside this project.
LINES = {
    "title": (5, 12, 291, 34),
    "line1": (3, 47, 378, 68),
    "line2": (1, 63, 379, 88),
    "line4": (0, 95, 381, 125),
    "line5": (3, 114, 173, 143),
}
# What rapidocr-onnxruntime 1.4.4's TextRecognizer (PaddleOCR's resize_norm_img and
# CTCLabelDecode) read with en_PP-OCRv4_rec_infer.onnx + en_PP-OCRv4_rec_dict.txt on those
# lines (cut by its perspective crop), run by hand; the shared README: "five lines of page.png
# exact with spaces, p 0.95–0.99".
EN_TEXT = {
    "title": "Region-based segmentation",
    "line1": "Let us first determine markers of the coins and the",
    "line2": "background.These markers are pixels that we can label",
    "line4": "the markers are found at the two extreme parts of the",
    "line5": "histogram of grey values:",
}


def _reference_decode(probs: np.ndarray, chars: list[str]) -> tuple[str, float]:
    """PaddleOCR's CTCLabelDecode written out step by step (independent of trtgui): the best
    class per step, a step equal to the step before dropped, blanks (0) dropped."""
    kept: list[tuple[str, float]] = []
    previous = -1
    for row in probs:
        best = int(np.argmax(row))
        if best != 0 and best != previous:
            kept.append((chars[best], float(row[best])))
        previous = best
    return "".join(c for c, _ in kept), float(np.mean([p for _, p in kept])) if kept else 0.0


def _paddle_dictionary(path: Path) -> list[str]:
    """The dictionary as PaddleOCR's BaseRecLabelDecode reads a file."""
    with path.open("rb") as f:
        return [line.decode("utf-8").strip("\n").strip("\r\n") for line in f.readlines()]


def _line(shared_models: Path, name: str) -> Image.Image:
    page = Image.open(shared_models / "images" / "page.png").convert("RGB")
    return page.crop(LINES[name])


def test_en_pp_ocrv4_reads_five_lines_exactly(shared_models: Path) -> None:
    model = shared_models / "onnx" / "en_PP-OCRv4_rec_infer.onnx"
    dict_file = shared_models / "onnx" / "en_PP-OCRv4_rec_dict.txt"
    chars = ["blank", *_paddle_dictionary(dict_file), " "]
    for name, expected in EN_TEXT.items():
        report = run_prediction(model, _line(shared_models, name), labels=dict_file)
        p = report.prediction
        assert report.spec.preset == "paddleocr-rec" and report.spec_guessed
        assert report.input_tensor.shape[2] == 48
        assert p.kind == "text"
        assert p.kind_reason == "text: output [N,T,97] fits the 95-entry dictionary given"
        text, score = _reference_decode(report.outputs[p.source_outputs[0]][0], chars)
        assert (p.texts[0].text, p.texts[0].score) == (text, pytest.approx(score, abs=1e-6))
        assert text == expected, name
        assert 0.93 <= score <= 0.99  # the shared README: p 0.95–0.99 (its crops were cut
        # by a perspective warp; these straight crops score up to 0.02 lower)


def test_en_pp_ocrv4_without_its_dictionary_says_what_to_do(shared_models: Path) -> None:
    """Its `character` metadata is a web page (shared README): the run stops with the fix."""
    model = shared_models / "onnx" / "en_PP-OCRv4_rec_infer.onnx"
    with pytest.raises(InferenceError) as err:
        run_prediction(model, _line(shared_models, "title"))
    assert err.value.message.startswith(
        'The model\'s "character" metadata does not match its 97 classes'
    )
    assert "labels file (--labels)" in err.value.message


def test_ch_pp_ocrv3_reads_the_lines_from_its_metadata(shared_models: Path) -> None:
    model = shared_models / "onnx" / "ch_PP-OCRv3_rec_infer.onnx"
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    # RapidOCR's reading of the dictionary: the metadata's lines
    metadata = session.get_modelmeta().custom_metadata_map["character"].splitlines()
    chars = ["blank", *metadata, " "]
    for name in ("title", "line4", "line5"):
        report = run_prediction(model, _line(shared_models, name))
        p = report.prediction
        assert report.labels_source == "model metadata"
        assert p.kind_reason == (
            'text: output [N,T,6625] with a "character" dictionary in the metadata'
        )
        text, score = _reference_decode(report.outputs[p.source_outputs[0]][0], chars)
        assert (p.texts[0].text, p.texts[0].score) == (text, pytest.approx(score, abs=1e-6))
        # the shared README: "read right except missing spaces"
        assert text.replace(" ", "") == EN_TEXT[name].replace(" ", ""), name
        assert 0.9 <= score <= 0.97  # the shared README: 0.91–0.96


def test_the_guesses_for_the_real_recognisers(shared_models: Path) -> None:
    for name, labels in (
        ("ch_PP-OCRv3_rec_infer", "model metadata"),
        ("en_PP-OCRv4_rec_infer", ""),
    ):
        path = shared_models / "onnx" / f"{name}.onnx"
        info = inspect_onnx(path)
        assert guess_preprocess(info).preset == "paddleocr-rec", name
        # what the Inference panel's Labels field says before a run: v4's metadata is no
        # dictionary for its 97 classes, so nothing is promised
        assert default_labels_source(path, info) == labels, name
    for name, preset in (("ch_PP-OCRv4_det_infer", "paddleocr-det"), ("u2netp", "u2net")):
        info = inspect_onnx(shared_models / "onnx" / f"{name}.onnx")
        assert guess_preprocess(info).preset == preset, name


def test_cli_predict_text(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crop = tmp_path / "line.png"
    _line(shared_models, "line1").save(crop)
    model = shared_models / "onnx" / "en_PP-OCRv4_rec_infer.onnx"
    labels = shared_models / "onnx" / "en_PP-OCRv4_rec_dict.txt"
    saved = tmp_path / "out.png"
    args = ["predict", str(model), str(crop), "--kind", "text", "--labels", str(labels)]
    assert main([*args, "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f'"{EN_TEXT["line1"]}" (confidence 0.9')
    assert "output x" not in out  # no statistics dump for a text result
    assert Image.open(saved).height > Image.open(crop).height  # the text band under the line
    assert main(["predict", str(model), str(crop)]) == 1  # the metadata is no dictionary
    assert "give the dictionary as the labels file (--labels)" in capsys.readouterr().err
