"""Decoding outputs into a Prediction: classes, YOLO/SSD boxes with NMS, maps, statistics,
and drawing the result."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trtgui.core.errors import InferenceError
from trtgui.core.imaging import PRESETS, Letterbox, load_image, preprocess
from trtgui.core.predict.decoders import Prediction, guess_kind, postprocess
from trtgui.core.predict.decoders.base import softmax
from trtgui.core.predict.decoders.detection import nms
from trtgui.core.predict.decoders.raw import output_stats
from trtgui.core.predict.drawing import draw_prediction
from trtgui.core.predict.labels import load_labels
from trtgui.core.predict.regions import connected_regions

# An 128x64 image letterboxed into 64x64: scale 0.5, 16 rows of padding on top.
BOX = Letterbox(128, 64, 64, 64, 0.5, 0.5, pad_x=0, pad_y=16)
LABELS = ("cat", "dog", "bird")

# Known detections in tensor pixels (cx, cy, w, h), class, score.
KNOWN = [
    ((20.0, 30.0, 16.0, 8.0), 1, 0.9),
    ((21.0, 30.0, 16.0, 8.0), 1, 0.8),  # a near-duplicate of the first: NMS removes it
    ((20.0, 30.0, 16.0, 8.0), 2, 0.7),  # same place, another class: kept
    ((50.0, 40.0, 10.0, 10.0), 0, 0.6),
]


def _yolo(objectness: bool, features_first: bool, boxes: int = 200) -> np.ndarray:
    nc = len(LABELS)
    first = 5 if objectness else 4
    out = np.zeros((boxes, first + nc), np.float32)
    out[:, :4] = (32, 32, 4, 4)
    out[:, first:] = 0.01  # background noise below any threshold
    if objectness:
        out[:, 4] = 0.05
    for i, ((cx, cy, w, h), cls, score) in enumerate(KNOWN):
        row = 10 + 20 * i
        out[row, :4] = (cx, cy, w, h)
        if objectness:
            out[row, 4] = 1.0
        out[row, first + cls] = score
    out = out.T if features_first else out
    return out[None]


def _expect_known(pred: Prediction) -> None:
    assert pred.kind == "detection"
    got = sorted((b.label, round(b.score, 3)) for b in pred.boxes)
    assert got == [("bird", 0.7), ("cat", 0.6), ("dog", 0.9)]
    dog = next(b for b in pred.boxes if b.label == "dog")
    # (20 ± 8, 30 ± 4) in the tensor → minus the padding (16 rows), divided by 0.5
    assert (dog.x1, dog.y1, dog.x2, dog.y2) == pytest.approx((24, 20, 56, 36))
    assert dog.class_index == 1


@pytest.mark.parametrize("objectness", [False, True])
@pytest.mark.parametrize("features_first", [False, True])
def test_yolo_layouts(objectness: bool, features_first: bool) -> None:
    raw = _yolo(objectness, features_first)
    assert guess_kind({"output0": raw}) == "detection"
    pred = postprocess({"output0": raw}, BOX, labels=LABELS)  # objectness from the label count
    _expect_known(pred)
    explicit = postprocess({"output0": raw}, BOX, objectness=objectness, kind="detection")
    assert len(explicit.boxes) == 3 and explicit.boxes[0].label.startswith("class ")


def test_yolo_normalised_coordinates_are_scaled() -> None:
    raw = _yolo(False, True)
    raw[0, :4] /= 64.0
    _expect_known(postprocess({"o": raw}, BOX, labels=LABELS))


def test_yolo_threshold() -> None:
    pred = postprocess({"o": _yolo(False, False)}, BOX, labels=LABELS, threshold=0.75)
    assert [b.label for b in pred.boxes] == ["dog"]
    assert "1 detection" in pred.summary()


def test_ssd_boxes_scores_classes_num() -> None:
    k = 10
    boxes = np.zeros((1, k, 4), np.float32)
    scores = np.zeros((1, k), np.float32)
    classes = np.zeros((1, k), np.float32)
    boxes[0, 0] = (12, 22, 28, 38)
    scores[0, 0], classes[0, 0] = 0.95, 2
    boxes[0, 1] = (40, 30, 60, 50)
    scores[0, 1], classes[0, 1] = 0.5, 0
    boxes[0, 2] = (0, 16, 10, 20)
    scores[0, 2], classes[0, 2] = 0.9, 1  # beyond num_detections: ignored
    outputs = {
        "boxes": boxes,
        "scores": scores,
        "classes": classes,
        "num_detections": np.array([2], np.int32),
    }
    assert guess_kind(outputs) == "detection"
    pred = postprocess(outputs, BOX, labels=LABELS)
    assert [(b.label, b.score) for b in pred.boxes] == [
        ("bird", pytest.approx(0.95)),
        ("cat", pytest.approx(0.5)),
    ]
    assert (pred.boxes[0].x1, pred.boxes[0].y1) == pytest.approx((24, 12))


def test_ssd_tensorflow_yxyx_normalised() -> None:
    boxes = np.array([[[0.25, 0.125, 0.5, 0.375]]], np.float32)  # ymin, xmin, ymax, xmax
    outputs = {
        "detection_boxes": boxes,
        "detection_scores": np.array([[0.8]], np.float32),
        "detection_classes": np.array([[1]], np.float32),
        "num_detections": np.array([1.0], np.float32),
    }
    pred = postprocess(outputs, BOX, labels=LABELS)
    b = pred.boxes[0]
    # x: .125*64 = 8 → 16; y: .25*64 = 16 → 0 (the padding); x2: 24 → 48; y2: 32 → 32
    assert (b.x1, b.y1, b.x2, b.y2) == pytest.approx((16, 0, 48, 32))
    assert b.label == "dog"


def test_ssd_per_class_scores_get_nms() -> None:
    boxes = np.array([[[10, 20, 30, 40], [11, 20, 31, 40], [40, 40, 60, 60]]], np.float32)
    scores = np.array([[[0.1, 0.9, 0.0], [0.1, 0.8, 0.0], [0.0, 0.1, 0.7]]], np.float32)
    pred = postprocess({"bboxes": boxes, "scores": scores}, BOX, labels=LABELS)
    assert [(b.label, round(b.score, 2)) for b in pred.boxes] == [("dog", 0.9), ("bird", 0.7)]


def test_detection_output_rows() -> None:
    rows = np.zeros((1, 1, 3, 7), np.float32)
    rows[0, 0, 0] = (0, 2, 0.9, 0.25, 0.5, 0.5, 0.75)
    rows[0, 0, 1] = (0, 1, 0.1, 0, 0, 1, 1)  # below the threshold
    rows[0, 0, 2] = (-1, 0, 0, 0, 0, 0, 0)  # padding row
    pred = postprocess({"detection_out": rows}, BOX, labels=LABELS)
    assert [(b.label, b.x1, b.y1, b.x2, b.y2) for b in pred.boxes] == [
        ("bird", 32.0, 32.0, 64.0, 64.0)
    ]


def test_nms_greedy_and_per_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 3]
    assert nms(boxes, scores, 0.5, classes=np.array([0, 0, 1, 0])).tolist() == [0, 2, 3]
    assert nms(boxes, scores, 0.95).tolist() == [0, 1, 3]  # IoU 9/11 < 0.95 keeps box 1
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32)).size == 0


def test_not_detections_raises() -> None:
    with pytest.raises(InferenceError, match="detections"):
        postprocess({"y": np.zeros((1, 10), np.float32)}, kind="detection")


# -- classification -------------------------------------------------------------------------


def test_logits_get_softmax_and_labels() -> None:
    logits = np.array([[1.0, 3.0, 2.0]], np.float32)
    pred = postprocess({"logits": logits}, labels=LABELS, top_k=2)
    assert pred.kind == "classification"
    p = softmax(logits[0])
    assert [(c.label, c.index) for c in pred.classes] == [("dog", 1), ("bird", 2)]
    assert pred.classes[0].score == pytest.approx(float(p[1]))
    assert any("softmax" in n for n in pred.notes)


def test_probabilities_pass_through_and_background_offset() -> None:
    probs = np.array([[[[0.1]], [[0.2]], [[0.6]], [[0.1]]]], np.float32)  # [1, 4, 1, 1]
    pred = postprocess({"prob": probs}, labels=LABELS)  # 4 scores, 3 labels: 0 = background
    # index 2 is the second real class once index 0 is the background
    assert pred.classes[0].label == "dog" and pred.classes[0].score == pytest.approx(0.6)
    assert pred.classes[-1].label in ("background", "bird")
    assert not pred.notes


def test_built_in_imagenet_names_for_1000_and_1001_scores() -> None:
    from trtgui.core.predict.decoders.classification import class_count
    from trtgui.core.predict.labels import IMAGENET_LABELS_SOURCE, builtin_class_labels

    scores = np.zeros((1, 1000), np.float32)
    scores[0, 967] = 9.0
    names, source = builtin_class_labels({"logits": scores})
    assert source == IMAGENET_LABELS_SOURCE and names is not None and len(names) == 1000
    # line 968 of the shared ../shared/models/imagenet_labels.txt (timm) is "espresso"
    assert postprocess({"logits": scores}, labels=names).classes[0].label == "espresso"
    # TF-slim order: "background" first, so class 968 of 1001 is espresso
    tf = np.zeros((1, 1001), np.float32)
    tf[0, 968] = 9.0
    names, _ = builtin_class_labels({"p": tf})
    assert postprocess({"p": tf}, labels=names).classes[0].label == "espresso"
    # other class counts, and outputs that are not class scores, get nothing
    assert builtin_class_labels({"y": np.zeros((1, 8), np.float32)}) == (None, "")
    assert builtin_class_labels({"y": scores}, kind="raw") == (None, "")
    assert [class_count(s) for s in (("batch", 1000), (1, 1000, 1, 1), (1000,))] == [1000] * 3
    assert class_count((1, 84, 8400)) is None and class_count(("n", "c")) is None


def test_a_class_without_labels_is_named_once() -> None:
    pred = postprocess({"y": np.array([[0.1, 0.7, 0.2]], np.float32)})
    top = pred.classes[0]
    assert top.label == "class 1" and not top.is_named
    named = postprocess({"y": np.array([[0.1, 0.7, 0.2]], np.float32)}, labels=LABELS)
    assert named.classes[0].label == "dog" and named.classes[0].is_named


def test_labels_file(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_text("a\n b \n\n", encoding="utf-8")
    assert load_labels(path) == ("a", "b")
    (tmp_path / "e.txt").write_text("\n", encoding="utf-8")
    with pytest.raises(InferenceError, match="empty"):
        load_labels(tmp_path / "e.txt")
    with pytest.raises(InferenceError):
        load_labels(tmp_path / "missing.txt")


# -- maps -----------------------------------------------------------------------------------


def _bfs_count(m: np.ndarray, eight: bool) -> int:
    h, w = m.shape
    seen = np.zeros_like(m, dtype=bool)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if eight:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    count = 0
    for y in range(h):
        for x in range(w):
            if m[y, x] and not seen[y, x]:
                count += 1
                seen[y, x] = True
                queue = deque([(y, x)])
                while queue:
                    cy, cx = queue.popleft()
                    for dy, dx in steps:
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < h and 0 <= nx < w and m[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            queue.append((ny, nx))
    return count


@pytest.mark.parametrize("seed", range(6))
def test_connected_regions_match_bfs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = rng.random((23, 31)) < (0.3 + 0.05 * seed)
    for connectivity in (4, 8):
        regions = connected_regions(m, connectivity)
        assert regions.count == _bfs_count(m, connectivity == 8)
        assert int(regions.areas.sum()) == int(m.sum())
        labels = regions.label_image(m.shape)
        assert np.array_equal(labels > 0, m)


def test_connected_regions_shapes() -> None:
    m = np.zeros((8, 8), bool)
    m[1, 1:4] = True
    m[2, 4] = True  # touches diagonally only
    m[5:7, 5:7] = True
    assert connected_regions(m, 8).count == 2
    assert connected_regions(m, 4).count == 3
    r = connected_regions(m, 8)
    assert sorted(r.bboxes.tolist()) == [[1, 1, 4, 2], [5, 5, 6, 6]]
    assert connected_regions(np.zeros((3, 3), bool)).count == 0
    u = np.zeros((5, 5), bool)  # a U shape joins two branches at the bottom
    u[0:4, 0] = u[0:4, 4] = True
    u[4, :] = True
    assert connected_regions(u).count == 1


def test_probability_map_regions_and_overlay() -> None:
    prob = np.zeros((1, 1, 16, 32), np.float32)
    prob[0, 0, 2:6, 2:20] = 0.9
    prob[0, 0, 9:13, 4:30] = 0.8
    prob[0, 0, 14, 0] = 0.9  # a 1-pixel speck: dropped
    box = Letterbox(64, 32, 64, 32, 1.0, 1.0)
    # Issue #14: PaddleOCR's map name now picks the text-regions decoder; this test reads
    # the map as segmentation, chosen.
    assert guess_kind({"sigmoid_0.tmp_0": prob}) == "text-regions"
    pred = postprocess({"sigmoid_0.tmp_0": prob}, box, labels=("text",), kind="segmentation")
    assert guess_kind({"m": prob}) == "segmentation"
    assert pred.kind == "segmentation" and pred.region_count == 2
    assert pred.mask is not None and pred.mask.shape == (32, 64)
    first = pred.boxes[0]
    assert (first.x1, first.y1, first.x2, first.y2) == pytest.approx((4, 4, 40, 12))
    assert first.score == pytest.approx(0.9)
    assert "2 text regions" in pred.summary()


def test_two_channel_logits_and_multiclass() -> None:
    two = np.zeros((1, 2, 4, 4), np.float32)
    two[0, 1, 1:3, 1:3] = 5.0  # logits favouring channel 1 in the middle
    pred = postprocess({"prob": two}, Letterbox(4, 4, 4, 4, 1.0, 1.0))
    assert pred.region_count == 1 and any("softmax" in n for n in pred.notes)
    seg = np.zeros((1, 3, 4, 4), np.float32)
    seg[0, 0] = 1.0
    seg[0, 2, :, :2] = 2.0
    multi = postprocess({"out": seg}, Letterbox(8, 8, 4, 4, 0.5, 0.5), labels=LABELS)
    assert multi.class_map is not None and multi.class_map.shape == (8, 8)
    assert multi.class_map[:, :4].max() == 2 and multi.class_map[:, 4:].max() == 0
    assert {c.label for c in multi.classes} == {"cat", "bird"}


def test_paddleocr_page_has_text_regions(shared_models: Path) -> None:
    from trtgui.core.engine.runners import OrtRunner

    image = load_image(shared_models / "images" / "page.png")
    x, box = preprocess(image, PRESETS["paddleocr-det"])
    with OrtRunner(shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx") as runner:
        outputs = runner.run({"x": x})
    pred = postprocess(outputs, box, labels=("text",))
    assert pred.kind == "text-regions"  # issue #14: it was "segmentation"
    assert pred.region_count is not None and pred.region_count >= 5
    assert all(0 <= b.x1 < b.x2 <= 384 and 0 <= b.y1 < b.y2 <= 191 for b in pred.boxes)


# -- statistics, kinds, raw -----------------------------------------------------------------


def test_stats_count_nan_and_inf() -> None:
    a = np.array([1.0, 2.0, np.nan, np.inf, -np.inf, 3.0], np.float32)
    s = output_stats("a", a)
    assert (s.min, s.max, s.mean, s.nan_count, s.inf_count) == (1.0, 3.0, 2.0, 1, 2)
    assert sum(s.histogram) == 3 and len(s.bin_edges) == len(s.histogram) + 1
    empty = output_stats("e", np.zeros(0, np.float32))
    assert np.isnan(empty.min)
    flags = output_stats("b", np.array([True, False]))
    assert flags.max == 1.0


def test_raw_kind_and_guesses() -> None:
    outs = {"a": np.zeros((1, 7, 3), np.float32), "b": np.arange(5, dtype=np.int64)}
    assert guess_kind(outs) == "raw"
    pred = postprocess(outs)
    assert pred.kind == "raw" and [s.name for s in pred.stats] == ["a", "b"]
    assert guess_kind({"y": np.zeros((1, 1000), np.float32)}) == "classification"
    with pytest.raises(InferenceError, match="Unknown prediction kind"):
        postprocess(outs, kind="pose")
    with pytest.raises(InferenceError):
        postprocess({})
    d = postprocess({"y": np.zeros((1, 4), np.float32)}).to_dict()
    assert d["kind"] == "classification" and len(d["classes"]) == 4


# -- drawing --------------------------------------------------------------------------------


def test_drawing_every_kind_changes_pixels() -> None:
    image = Image.new("RGB", (128, 64), (90, 90, 90))
    detection = postprocess({"o": _yolo(False, False)}, BOX, labels=LABELS)
    classification = postprocess({"y": np.array([[0.1, 5.0, 0.2]], np.float32)}, labels=LABELS)
    prob = np.zeros((1, 1, 32, 32), np.float32)
    prob[0, 0, 20:28, 4:28] = 1.0
    segmentation = postprocess({"m": prob}, BOX)
    raw = postprocess({"a": np.zeros((1, 7, 3), np.float32)})
    for pred in (detection, classification, segmentation):
        out = draw_prediction(image, pred)
        assert out.size == image.size and out.mode == "RGB"
        assert np.abs(np.asarray(out, np.int16) - np.asarray(image, np.int16)).max() > 50
    assert draw_prediction(image, raw).tobytes() == image.tobytes()
    assert image.getpixel((0, 0)) == (90, 90, 90)  # the input is left alone
