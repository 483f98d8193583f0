"""A size the graph cannot take fails as one line naming the input, the shape sent and the
shape the model takes, with no ONNX Runtime log line on stderr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trtgui.core.engine.runners import OrtRunner
from trtgui.core.errors import InferenceError


def test_wrong_size_is_one_line_and_quiet(
    shared_models: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The recogniser needs height 48 (shared README: x f32 [N,3,48,W]); 224 fails in a Concat.
    model = shared_models / "onnx" / "ch_PP-OCRv3_rec_infer.onnx"
    with OrtRunner(model) as runner, pytest.raises(InferenceError) as caught:
        runner.run({"x": np.zeros((1, 3, 224, 224), np.float32)})
    message = str(caught.value.args[0])
    assert "\n" not in message
    assert "'x' 1×3×224×224" in message and "the model takes ?×3×?×?" in message
    assert "node" in message and "preprocessing" in message
    assert "onnxruntime" not in capfd.readouterr().err.lower()
