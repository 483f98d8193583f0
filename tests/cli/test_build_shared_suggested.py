"""`trtgui-cli build MODEL -o X` with no --shapes builds every shared model with dynamic inputs
(real TensorRT-RTX builds on the CPU, about 5-12 s each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trtgui.cli.main import main

# The shared models with dynamic dims (the static ones need no suggestion).
DYNAMIC_MODELS = [
    "ch_PP-OCRv3_rec_infer.onnx",
    "en_PP-OCRv4_rec_infer.onnx",
    "ch_PP-OCRv3_det_infer.onnx",
    "ch_PP-OCRv4_det_infer.onnx",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    "efficientnet_lite0_dynbatch.onnx",
    "mtcnn_pnet.onnx",
    "retinaface_mnet025_tiny.onnx",
    "yolo11n_pose_dyn.onnx",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", DYNAMIC_MODELS)
def test_build_without_shapes(
    shared_models: Path, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = tmp_path / "model.engine"
    code = main(["build", str(shared_models / "onnx" / name), "-o", str(engine)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert engine.stat().st_size > 0
    assert "using the suggested profile" in captured.out + captured.err
    if "_rec_" in name:
        # The recognisers' height is 48 (shared README: x f32 [N,3,48,W]).
        assert "height must be 48" in captured.out + captured.err


def test_rejected_profile_names_input_and_dims(
    shared_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The profile `build` used to suggest for PP-OCR rec (issue #14): TensorRT rejects it in a
    Concat; the one line names the layer, the input dims that vary and the likely constraint."""
    model = shared_models / "onnx" / "ch_PP-OCRv3_rec_infer.onnx"
    shapes = "x:1x3x32x32:1x3x224x224:8x3x1024x1024"
    code = main(["build", str(model), "-o", str(tmp_path / "m.engine"), "--shapes", shapes])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    message = err[-1]
    assert "TensorRT rejected the shape profile" in message and "Concat_1" in message
    assert "input 'x' dimension 2 (32/224/1024), dimension 3 (32/224/1024)" in message
    assert "height is 48" in message and "CEIL_DIV" not in message
    assert not (tmp_path / "m.engine").exists()
