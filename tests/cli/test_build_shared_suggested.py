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
