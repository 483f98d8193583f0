"""Issue #14, text regions: a DBNet probability map → PaddleOCR's unclipped line boxes, on
hand-made maps and on the real PP-OCR detectors with page.png."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trtgui.cli.main import main
from trtgui.core.imaging import Letterbox
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.predict.decoders import ModelHints, explain_kind, postprocess
from trtgui.core.predict.decoders.text_regions import min_area_rect, reading_order, unclip
from trtgui.core.predict.drawing import draw_prediction
from trtgui.core.predict.flow import run_prediction

# -- geometry, by hand ---------------------------------------------------------------------------


def test_min_area_rect_of_a_block_and_of_a_tilted_bar() -> None:
    block = np.array([(x, y) for x in range(10, 51) for y in range(5, 16)])
    corners, long_side, short_side = min_area_rect(block)
    # pixel centres 10..50 × 5..15: 40 × 10 (cv2.minAreaRect's convention)
    assert (long_side, short_side) == (pytest.approx(40), pytest.approx(10))
    assert np.allclose(corners, [(10, 5), (50, 5), (50, 15), (10, 15)])
    # a 100 × 4 bar turned by 30°: the rectangle follows it (sides by construction)
    t = math.radians(30)
    u, v = np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])
    bar = np.array([a * u + b * v for a in np.linspace(0, 100, 101) for b in (0, 4)])
    _, long_side, short_side = min_area_rect(bar)
    assert (long_side, short_side) == (pytest.approx(100), pytest.approx(4))


def test_unclip_moves_every_side_out_by_area_ratio_over_perimeter() -> None:
    corners = np.array([(0.0, 0.0), (100.0, 0.0), (100.0, 10.0), (0.0, 10.0)])
    grown = unclip(corners, 100, 10, 1.5)
    d = 100 * 10 * 1.5 / 220  # PaddleOCR: area × unclip_ratio / perimeter = 6.82 (by hand)
    assert np.allclose(grown, [(-d, -d), (100 + d, -d), (100 + d, 10 + d), (-d, 10 + d)])


def test_reading_order_is_top_to_bottom_then_left_to_right() -> None:
    def quad(x: float, y: float) -> np.ndarray:
        return np.array([(x, y), (x + 20, y), (x + 20, y + 8), (x, y + 8)])

    # two words on one line (tops 4 px apart: one line) and a line below
    quads = [quad(50, 12), quad(0, 40), quad(0, 16)]
    assert reading_order(quads) == [2, 0, 1]


# -- the decoder on a hand-made map ---------------------------------------------------------------


def _map(h: int = 60, w: int = 120) -> np.ndarray:
    prob = np.zeros((1, 1, h, w), np.float32)
    prob[0, 0, 30:40, 10:110] = 0.95  # a line of text
    prob[0, 0, 8:16, 20:60] = 0.9  # a title above it
    prob[0, 0, 50:58, 80:100] = 0.4  # faint: above 0.3, its mean under 0.6 — dropped
    prob[0, 0, 5:7, 100:118] = 0.99  # 1 px high (pixel centres): narrower than 3 — dropped
    return prob


def test_a_hand_made_map() -> None:
    outputs = {"sigmoid_0.tmp_0": _map()}
    # the map at half the input size, the picture 240 × 120 stretched to 240 × 120
    box = Letterbox(240, 120, 240, 120, 1.0, 1.0)
    p = postprocess(outputs, box, hints=ModelHints(producer="PaddlePaddle"))
    assert p.kind == "text-regions"
    assert p.kind_reason.startswith("text-regions: output sigmoid_0.tmp_0 [N,1,H,W]")
    assert [b.label for b in p.boxes] == ["text", "text"] and p.region_count == 2
    title, line = p.boxes
    # the title: pixel centres 20..59 × 8..15 → 39 × 7, d = 39·7·1.5 / 92 = 4.45, grown to
    # 47.9 × 15.9 map px, ×2 to the input, rounded: x 31..127, y 7..39 (by hand)
    assert (title.x1, title.y1, title.x2, title.y2) == (31, 7, 127, 39)
    assert title.score == pytest.approx(0.9)
    assert line.score == pytest.approx(0.95) and line.y1 > title.y2
    assert title.polygon == ((31, 7), (127, 7), (127, 39), (31, 39))
    assert any("2 of 4 regions dropped" in n for n in p.notes)
    assert p.summary() == "2 text regions above 0.3"
    assert p.to_dict()["boxes"][0]["polygon"] == [[31, 7], [127, 7], [127, 39], [31, 39]]


def test_drawing_numbers_the_regions() -> None:
    box = Letterbox(240, 120, 240, 120, 1.0, 1.0)
    p = postprocess({"m": _map()}, box, kind="text-regions")
    picture = Image.new("RGB", (240, 120), (255, 255, 255))
    drawn = np.asarray(draw_prediction(picture, p)).astype(int)
    assert drawn.shape == (120, 240, 3)
    # the outline of region 1 on its top edge, a filled tag at its top-left corner
    assert (drawn[7, 80] != 255).any() and (drawn[8, 32] < 200).all()
    assert (drawn[100, 5] == 255).all()  # away from the regions: untouched


def test_the_guess_leaves_other_one_channel_maps_to_segmentation() -> None:
    mask = {"1959": np.zeros((1, 1, 32, 32), np.float32), "1960": np.zeros((1, 1, 32, 32))}
    hints = ModelHints(producer="pytorch torch-jit-export", input_shape=(1, 3, 320, 320))
    assert explain_kind(mask, hints).kind == "segmentation"
    paddle = ModelHints(input_shape=("p2o.DynamicDimension.0", 3, "h", "w"))
    guess = explain_kind({"fetch_0": np.zeros((1, 1, 32, 32), np.float32)}, paddle)
    assert guess.kind == "text-regions" and "PaddlePaddle model" in guess.reason


# -- the real detectors on page.png ---------------------------------------------------------------

# PaddleOCR's DBPostProcess (rapidocr-onnxruntime 1.4.4's copy, with PaddleOCR's inference
# defaults thresh 0.3, box_thresh 0.6, unclip_ratio 1.5, and score_mode "slow") run by hand on
# each model's map of page.png (BGR, 384×192, ImageNet mean/std: the shared README). Corners:
# top-left, top-right, bottom-right, bottom-left. The "fast" score (the rectangle's mean)
# keeps only 4 of these lines: the printed lines' maps fill about half their rectangles.
REFERENCE = {
    "ch_PP-OCRv4_det_infer": [
        [[5, 12], [291, 14], [291, 34], [5, 32]],
        [[3, 47], [378, 48], [378, 68], [3, 67]],
        [[1, 63], [379, 64], [379, 88], [1, 87]],
        [[2, 80], [378, 83], [378, 107], [2, 103]],
        [[0, 95], [381, 99], [381, 125], [0, 122]],
        [[4, 114], [173, 123], [172, 143], [3, 134]],
        [[16, 164], [241, 175], [240, 191], [15, 184]],
    ],
    # The shared README counts 7 line boxes; PaddleOCR's post-processing splits the code line
    # at its " = " into ">>> markers" and "np.zeros_like(coins)": 8.
    "ch_PP-OCRv3_det_infer": [
        [[5, 10], [292, 12], [292, 32], [5, 30]],
        [[4, 47], [377, 48], [377, 65], [4, 64]],
        [[2, 63], [377, 64], [377, 85], [2, 84]],
        [[2, 80], [378, 83], [378, 104], [2, 100]],
        [[2, 95], [380, 98], [380, 122], [2, 120]],
        [[4, 113], [174, 122], [173, 140], [3, 131]],
        [[38, 170], [89, 173], [89, 181], [38, 178]],
        [[103, 173], [241, 176], [241, 189], [103, 186]],
    ],
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_pp_ocr_detectors_on_page(shared_models: Path, name: str) -> None:
    report = run_prediction(
        shared_models / "onnx" / f"{name}.onnx", shared_models / "images" / "page.png"
    )
    p = report.prediction
    assert report.spec.preset == "paddleocr-det" and report.input_tensor.shape == (1, 3, 192, 384)
    assert p.kind == "text-regions"
    assert p.kind_reason == (
        "text-regions: output sigmoid_0.tmp_0 [N,1,H,W] is a PP-OCR text detector's map (DBNet)"
    )
    expected = REFERENCE[name]
    assert len(p.boxes) == len(expected)
    for box, corners in zip(p.boxes, expected, strict=True):
        assert box.polygon is not None and box.score >= 0.8
        # ±2 px: pyclipper rounds the rectangle to whole pixels before growing it
        assert np.abs(np.array(box.polygon) - np.array(corners)).max() <= 2, (box, corners)


def test_the_regions_cut_whole_lines_for_the_recogniser(shared_models: Path) -> None:
    """Detector → crops → recogniser: the unclipped boxes hold whole words (the raw regions
    above 0.3 are the lines' shrunk cores, a third of their height)."""
    onnx = shared_models / "onnx"
    page = Image.open(shared_models / "images" / "page.png").convert("RGB")
    found = run_prediction(onnx / "ch_PP-OCRv4_det_infer.onnx", page).prediction.boxes
    title = found[0]
    crop = page.crop((round(title.x1), round(title.y1), round(title.x2), round(title.y2)))
    read = run_prediction(
        onnx / "en_PP-OCRv4_rec_infer.onnx", crop, labels=onnx / "en_PP-OCRv4_rec_dict.txt"
    )
    # the shared README / rapidocr's reading of the title line
    assert read.prediction.texts[0].text == "Region-based segmentation"


def test_the_guess_for_u2netp_stays_segmentation(shared_models: Path) -> None:
    info = inspect_onnx(shared_models / "onnx" / "u2netp.onnx")
    outputs = {t.name: np.zeros((1, 1, 320, 320), np.float32) for t in info.outputs}
    hints = ModelHints(
        metadata=info.metadata,
        producer=f"{info.producer_name} {info.graph_name}",
        input_shape=info.inputs[0].shape,
    )
    assert explain_kind(outputs, hints).kind == "segmentation"


def test_cli_predict_text_regions(shared_models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"
    page = shared_models / "images" / "page.png"
    assert main(["predict", str(model), str(page), "--kind", "text-regions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "7 text regions above 0.3"  # the shared README: 7 text lines
    assert lines[1].split()[:2] == ["text", "0.99"]


def test_a_map_with_no_text_gives_no_regions() -> None:
    """A photo without text (an all-zero map, as the FP16 precision check's random pictures
    give) decodes to no regions instead of an IndexError."""
    import numpy as np

    from trtgui.core.predict.decoders import text_regions
    from trtgui.core.predict.decoders.base import DecodeContext

    empty = np.zeros((1, 1, 64, 64), np.float32)
    prediction = text_regions.decode({"sigmoid_0.tmp_0": empty}, DecodeContext())
    assert prediction.boxes == ()
