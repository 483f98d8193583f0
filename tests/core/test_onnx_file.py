"""Both readers of an ONNX file (inspect_onnx through onnx, the graph pre-check through its own
wire-format reader) refuse files that are not models with the same words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trtgui.core.errors import ModelLoadError
from trtgui.core.model.graph_check import has_qdq, precheck_model
from trtgui.core.model.onnx_model import inspect_onnx

READERS: list[Callable[[Path], object]] = [inspect_onnx, precheck_model, has_qdq]


def _message(reader: Callable[[Path], object], path: Path) -> str:
    with pytest.raises(ModelLoadError) as info:
        reader(path)
    assert "\n" not in info.value.message
    return info.value.message


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("empty.onnx", b"", "is empty (0 bytes)"),
        ("photo.onnx", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "is a PNG image, not an ONNX model"),
        ("model.onnx", b"PK\x03\x04" + b"\0" * 32, "a ZIP archive (a PyTorch checkpoint is one)"),
        ("junk.onnx", b"\x0f garbage bytes \xff\xfe", "not a valid ONNX model"),
        # A well-formed protobuf message with only ir_version (field 1 = 7): no graph.
        ("nograph.onnx", b"\x08\x07", "it holds no graph"),
    ],
)
def test_same_words_from_every_reader(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    messages = {_message(reader, path) for reader in READERS}
    assert len(messages) == 1, messages
    assert expected in messages.pop()


def test_a_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    for reader in READERS:
        assert "is a folder, not an ONNX file" in _message(reader, folder)


def test_qdq_detector(made_models) -> None:  # type: ignore[no-untyped-def]
    # The factory's models hold no Q/DQ nodes; a quantized one is in test_precision.py.
    assert not has_qdq(made_models["static_conv"].path)
    assert not precheck_model(made_models["static_conv"].path).has_qdq
