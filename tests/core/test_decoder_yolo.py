"""Raw YOLO heads: Ultralytics detection ([N, 4+C, A]) and pose ([N, 5+3K, A]) on the shared
models, YOLOX's raw grid on a model made here, and the YOLO preset guesses with their reasons."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from trtgui.core.imaging import (
    Letterbox,
    PresetGuess,
    get_preset,
    guess_preprocess,
    guess_preset,
    preprocess,
)
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.predict.decoders import Box, explain_kind, guess_kind, postprocess
from trtgui.core.predict.decoders.detection_yolox import grid_cells, grid_count
from trtgui.core.predict.decoders.keypoints import COCO_SKELETON, visible_limbs
from trtgui.core.predict.drawing import draw_prediction
from trtgui.core.predict.flow import run_prediction


def _xyxy(box: Box) -> tuple[float, float, float, float]:
    return (box.x1, box.y1, box.x2, box.y2)


# -- Ultralytics raw detection head (yolov8n-doclaynet) --------------------------------------


def test_doclaynet_regions_on_the_page(shared_models: Path) -> None:
    # the shared README's recipe: threshold 0.3, NMS 0.45 across classes
    report = run_prediction(
        shared_models / "onnx" / "yolov8n-doclaynet.onnx",
        shared_models / "images" / "page.png",
        threshold=0.3,
    )
    assert report.spec.preset == "yolo" and report.spec.resize == "letterbox"
    assert report.input_tensor.shape == (1, 3, 1024, 1024)
    assert report.labels_source == "model metadata"  # the `names` dict literal
    p = report.prediction
    assert p.kind == "detection"
    assert (
        p.kind_reason
        == "detection: output [N,15,A], a raw YOLO head (4 box + 11 class scores, NMS here)"
    )
    # shared README (the package's own decode): Text 0.75 [6,49,366,138],
    # Section-header 0.60 [1,12,293,36]
    assert [b.label for b in p.boxes] == ["Text", "Section-header"]
    text, header = p.boxes
    assert text.score == pytest.approx(0.75, abs=0.01)
    assert _xyxy(text) == pytest.approx((6, 49, 366, 138), abs=2)
    assert header.score == pytest.approx(0.60, abs=0.01)
    assert _xyxy(header) == pytest.approx((1, 12, 293, 36), abs=2)
    # the same regions with the package's class-agnostic NMS
    agnostic = postprocess(
        report.outputs, report.letterbox, kind="detection", threshold=0.3, class_agnostic=True
    )
    assert len(agnostic.boxes) == 2 and "NMS across classes" in agnostic.notes


def test_doclaynet_sees_a_picture_in_the_coffee_photo(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "yolov8n-doclaynet.onnx",
        shared_models / "images" / "coffee.png",
        threshold=0.3,
    )
    (picture,) = report.prediction.boxes
    # shared README: coffee.png → Picture 0.60
    assert picture.label == "Picture" and picture.score == pytest.approx(0.60, abs=0.01)


def test_nms_per_class_or_across_classes() -> None:
    # two nearly identical boxes (IoU 0.9 by hand: 90×100 / 100×100) of different classes:
    # per class both stay; across classes the better one (0.9) stays alone
    head = np.zeros((1, 4 + 2, 20), np.float32)  # features first: [N, 4+C, A]
    head[0, :, 0] = [50, 50, 100, 100, 0.9, 0.0]
    head[0, :, 1] = [45, 50, 90, 100, 0.0, 0.8]
    per_class = postprocess({"output0": head}, kind="detection")
    assert sorted(b.class_index for b in per_class.boxes) == [0, 1]
    agnostic = postprocess({"output0": head}, kind="detection", class_agnostic=True)
    assert [(b.class_index, round(b.score, 2)) for b in agnostic.boxes] == [(0, 0.9)]


# -- YOLOX raw grid ---------------------------------------------------------------------------

# A 64×64 input: 8×8 + 4×4 + 2×2 cells for strides 8, 16 and 32.
YOLOX_SIDE = 64
YOLOX_CELLS = 8 * 8 + 4 * 4 + 2 * 2
# One object in the stride-16 cell at column 1, row 2: row 64 (after the 64 stride-8 cells)
# + 2 × 4 + 1.
YOLOX_ROW = 64 + 2 * 4 + 1


def _yolox_rows() -> np.ndarray:
    """The head's output for the one object, by hand; every other cell says nothing (its
    objectness 0) with a small negative log size, as a real head's empty cells do."""
    rows = np.zeros((1, YOLOX_CELLS, 6), np.float32)
    rows[0, :, 2:4] = -1.0
    # offsets 0.5, 0.25 cells; log sizes ln 2 and 0: 2 and 1 cells; objectness 0.9; class 0.8
    rows[0, YOLOX_ROW] = [0.5, 0.25, math.log(2.0), 0.0, 0.9, 0.8]
    return rows


def _yolox_model(path: Path) -> Path:
    """A YOLOX-shaped model: `images` [1,3,64,64] → `output` [1,84,6], the hand-made rows
    (plus 0 × the input's mean, so the output depends on the input as a graph must)."""
    rows = numpy_helper.from_array(_yolox_rows(), "rows")
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "zero")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["rows", "nothing"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolox_nano_like",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, YOLOX_CELLS, 6])],
        initializer=[rows, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def test_yolox_grid_cells_by_hand() -> None:
    assert grid_count((416, 416)) == 3549  # the YOLOX: 52² + 26² + 13²
    cells, stride = grid_cells((YOLOX_SIDE, YOLOX_SIDE))
    assert cells.shape == (YOLOX_CELLS, 2) and stride.shape == (YOLOX_CELLS,)
    assert cells[1].tolist() == [1, 0] and cells[8].tolist() == [0, 1]  # x moves first
    assert cells[YOLOX_ROW].tolist() == [1, 2] and stride[YOLOX_ROW] == 16


def test_yolox_preset_letterboxes_into_the_top_left_in_bgr() -> None:
    # 160×128 picture into 64×64: r = min(64/160, 64/128) = 0.4 → 64×51 (int(51.2), as
    # YOLOX's preproc truncates), at (0, 0); the rest pad 114
    picture = Image.new("RGB", (160, 128), (200, 100, 50))
    tensor, box = preprocess(picture, replace(get_preset("yolox"), height=64, width=64))
    t = tensor.reshape(3, 64, 64)
    assert t[:, 0, 0].tolist() == [50, 100, 200]  # BGR, 0-255, no normalisation
    assert t[:, 50, 63].tolist() == [50, 100, 200]  # the last picture row
    assert t[:, 51, 0].tolist() == [114, 114, 114]  # the padding below it
    assert box == Letterbox(160, 128, 64, 64, 0.4, 0.4)


def test_yolox_model_is_guessed_and_decoded(tmp_path: Path) -> None:
    model = _yolox_model(tmp_path / "yolox_nano_like.onnx")
    guess = guess_preset(inspect_onnx(model))
    assert guess.preset == "yolox" and "YOLOX" in guess.reason and guess.uncertain
    picture = tmp_path / "wide.png"
    Image.new("RGB", (160, 128), (90, 90, 90)).save(picture)
    report = run_prediction(model, picture, spec=get_preset("yolox"), kind="detection")
    assert report.letterbox.pad_x == 0 and report.letterbox.pad_y == 0
    (found,) = report.prediction.boxes
    # by hand: centre ((1 + 0.5) × 16, (2 + 0.25) × 16) = (24, 36), size (2 × 16, 1 × 16) =
    # (32, 16) → [8, 28, 40, 44] in input pixels; ÷ r = 0.4 → [20, 70, 100, 110]
    assert _xyxy(found) == pytest.approx((20, 70, 100, 110), abs=1e-3)
    assert found.score == pytest.approx(0.9 * 0.8, abs=1e-6)  # objectness × class
    assert any("YOLOX grid" in n for n in report.prediction.notes)


def test_decoded_yolox_rows_are_not_read_as_a_grid() -> None:
    # a YOLOX exported with its decode in the graph: centres in pixels across the input
    rows = _yolox_rows()
    cells, stride = grid_cells((YOLOX_SIDE, YOLOX_SIDE))
    rows[0, :, :2] = (cells + 0.5) * stride[:, None]
    rows[0, :, 2:4] = 8.0
    rows[0, YOLOX_ROW, :4] = [24, 36, 32, 16]
    box = Letterbox(64, 64, 64, 64, 1.0, 1.0)
    (found,) = postprocess({"output": rows}, box, kind="detection").boxes
    assert _xyxy(found) == pytest.approx((8, 28, 40, 44))


# -- the YOLO preset guesses ------------------------------------------------------------------


def _detector(path: Path, outputs: dict[str, list[int]], input_name: str = "input") -> Path:
    """A model with a 416×416 input and outputs of these shapes (zeros), no metadata."""
    nodes, infos, inits = [], [], []
    for i, (name, shape) in enumerate(outputs.items()):
        inits.append(numpy_helper.from_array(np.zeros(shape, np.float32), f"c{i}"))
        nodes.append(helper.make_node("Identity", [f"c{i}"], [name]))
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes,
        "detector",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, 416, 416])],
        infos,
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_darknet_style_yolo_is_guessed_as_a_plain_resize(tmp_path: Path) -> None:
    # YOLOv3 at 416: 3 anchors per cell of strides 8/16/32 = 3 × 3549 rows, decoded in graph
    model = _detector(tmp_path / "yolov3.onnx", {"output": [1, 3 * 3549, 85]})
    guess = guess_preset(inspect_onnx(model))
    assert guess == PresetGuess(
        "yolo-stretch",
        "Darknet-style: no metadata, in-graph decode, square input → yolo-stretch",
        ("yolo",),
    )
    assert "uncertain: yolo may fit instead" in guess.text()
    assert guess_preprocess(inspect_onnx(model)).preset == "yolo-stretch"
    # Darknet's boxes [N, A, 1, 4] beside confs [N, A, C] say the same
    pair = _detector(tmp_path / "yolov4.onnx", {"boxes": [1, 10647, 1, 4], "confs": [1, 10647, 80]})
    assert guess_preset(inspect_onnx(pair)).preset == "yolo-stretch"


def test_yolov5_export_without_metadata_stays_a_letterbox(tmp_path: Path) -> None:
    # Ultralytics names its input "images": the letterbox, with the plain resize offered
    model = _detector(tmp_path / "yolov5s.onnx", {"output0": [1, 25200, 85]}, "images")
    guess = guess_preset(inspect_onnx(model))
    assert guess.preset == "yolo" and guess.alternatives == ("yolo-stretch",)
    # a raw Ultralytics head [N, 4+C, A] is sure
    raw = _detector(tmp_path / "head.onnx", {"output0": [1, 84, 3549]}, "images")
    assert guess_preset(inspect_onnx(raw)) == PresetGuess(
        "yolo", "a YOLO output [N,4+C,A] or [N,A,5+C] → yolo"
    )


# -- pose (yolo11n_pose_dyn) ------------------------------------------------------------------


def test_pose_on_the_astronaut(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "yolo11n_pose_dyn.onnx",
        shared_models / "images" / "astronaut.png",
    )
    assert report.spec.preset == "yolo" and report.spec.resize == "letterbox"
    p = report.prediction
    assert p.kind == "keypoints" and "YOLO-pose" in p.kind_reason and "17" in p.kind_reason
    (person,) = p.boxes
    # shared README (the package's reference): person 0.903, nose at (221, 121) conf 1.00
    assert person.label == "person" and person.score == pytest.approx(0.903, abs=0.02)
    assert len(person.keypoints) == 17
    nose_x, nose_y, nose_conf = person.keypoints[0]
    assert (nose_x, nose_y) == pytest.approx((221, 121), abs=3)
    assert nose_conf == pytest.approx(1.0, abs=0.02)
    assert p.summary() == "1 pose (person), best 0.903, 17 keypoints each"
    # drawn: the limbs between visible keypoints, on a picture of the photo's size
    drawn = draw_prediction(report.image, p)
    assert drawn.size == report.image.size
    assert np.asarray(drawn).astype(int).sum() != np.asarray(report.image).astype(int).sum()


def test_pose_kind_is_guessed_from_the_head_shape() -> None:
    head = np.zeros((1, 56, 8400), np.float32)
    guess = explain_kind({"output0": head})
    assert guess.kind == "keypoints" and "56 = 4 box + 1 score + 17×3" in guess.reason
    # a detection head [N, 4+C, A] stays a detection
    assert guess_kind({"output0": np.zeros((1, 15, 21504), np.float32)}) == "detection"


def test_pose_decoded_by_hand() -> None:
    # one person at (100, 80) 40×60 in a 200×200 input, score 0.8; keypoint i at
    # (100 + i, 80) with conf 0.9 for even i and 0.1 for odd i
    head = np.zeros((1, 56, 20), np.float32)
    head[0, :5, 3] = [100, 80, 40, 60, 0.8]
    for i in range(17):
        head[0, 5 + 3 * i : 8 + 3 * i, 3] = [100 + i, 80, 0.9 if i % 2 == 0 else 0.1]
    # a 400×400 picture letterboxed into 200×200: scale 0.5, no padding
    box = Letterbox(400, 400, 200, 200, 0.5, 0.5)
    (person,) = postprocess({"output0": head}, box, kind="keypoints").boxes
    assert _xyxy(person) == pytest.approx((160, 100, 240, 220))  # (80..120, 50..110) × 2
    assert person.keypoints[3] == pytest.approx((206, 160, 0.1))
    # limbs with both ends at conf ≥ 0.5: both keypoints even
    limbs = visible_limbs(person.keypoints)
    assert limbs == [(i, j) for i, j in COCO_SKELETON if i % 2 == 0 and j % 2 == 0]
    assert len(COCO_SKELETON) == 19  # the COCO person skeleton's limbs


def test_cli_reads_yolox_with_its_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trtgui.cli.main import main

    model = _yolox_model(tmp_path / "yolox_nano_like.onnx")
    picture = tmp_path / "wide.png"
    Image.new("RGB", (160, 128), (90, 90, 90)).save(picture)
    args = ["predict", str(model), str(picture), "--kind", "detection", "--preset", "yolox"]
    assert main(args) == 0
    out = capsys.readouterr().out
    # the box computed by hand in test_yolox_model_is_guessed_and_decoded
    assert "0.72  x1=20 y1=70 x2=100 y2=110" in out
    assert "letterbox 64x64 at the top-left (pad 114), BGR" in out
