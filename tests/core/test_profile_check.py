"""`check_suggestion`: suggested profiles narrowed by ONNX Runtime dry runs on the real models."""

from __future__ import annotations

from pathlib import Path

import pytest

from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profile_check import check_suggestion


@pytest.mark.parametrize("name", ["ch_PP-OCRv3_rec_infer.onnx", "en_PP-OCRv4_rec_infer.onnx"])
def test_text_recognisers_get_height_48(shared_models: Path, name: str) -> None:
    checked = check_suggestion(inspect_onnx(shared_models / "onnx" / name))
    (item,) = checked.profiles[0].inputs
    # Height 48: the shared README's "x f32 [N,3,48,W]" and PaddleOCR's rec_image_shape 3,48,320.
    assert (item.min[2], item.opt[2], item.max[2]) == (48, 48, 48)
    assert item.min[3] < item.opt[3] < item.max[3]  # the width stays dynamic (T = W/8)
    assert checked.verified
    assert "input 'x' height must be 48 (224 fails)" in checked.notes


def test_text_detector_learns_its_stride(shared_models: Path) -> None:
    checked = check_suggestion(inspect_onnx(shared_models / "onnx" / "ch_PP-OCRv4_det_infer.onnx"))
    (item,) = checked.profiles[0].inputs
    # The README: "H and W multiples of 32"; the suggested 32/224/1024 already are.
    assert all(v % 32 == 0 for v in (*item.min[2:], *item.opt[2:], *item.max[2:]))
    assert "input 'x' width must be a multiple of 32" in checked.notes
    assert checked.verified


def test_static_model_needs_no_profile(shared_models: Path) -> None:
    checked = check_suggestion(inspect_onnx(shared_models / "onnx" / "u2netp.onnx"))
    assert checked.profiles == () and checked.notes == () and checked.verified
