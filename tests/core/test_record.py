"""The build record (`<engine>.json`): a real build's record reads back to the same bytes,
older records read, foreign and malformed ones raise one-line errors naming the field."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests import onnx_factory
from trtgui.core import backends
from trtgui.core.build.builder import build_engine
from trtgui.core.build.record import (
    RECORD_FORMAT,
    BuildRecord,
    onnx_for_engine,
    read_record,
    record_json,
    record_path,
)
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import BuildRecordError
from trtgui.core.model.onnx_model import inspect_onnx
from trtgui.core.model.profiles import Precision, suggest_profiles
from trtgui.core.tensors import TensorSpec

needs_rtx = pytest.mark.skipif(
    not backends.probe_backend("rtx").available, reason="TensorRT-RTX is not installed"
)


def _onnx_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return onnx_factory.static_conv(Path(tmp)).path.read_bytes()


# A real model's bytes for records that name one: onnx_for_engine follows only ONNX files.
_ONNX_BYTES = _onnx_bytes()


def write_record(engine: Path, data: object) -> Path:
    engine.write_bytes(b"ftrt")  # the record is read beside an engine; its bytes do not matter
    record_path(engine).write_text(json.dumps(data), encoding="utf-8")
    return engine


@needs_rtx
def test_a_real_builds_record_reads_back_byte_for_byte(made_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = made_models["dynamic_batch"].path
    settings = BuildSettings(
        onnx_path=str(model),
        output_path=str(tmp_path / "m.engine"),
        backend="rtx",
        profiles=suggest_profiles(inspect_onnx(model)),
    )
    result = build_engine(settings)
    record = read_record(result.engine_path)
    assert record is not None
    # What the file says is what the build returned.
    assert record.settings == result.settings
    assert record.tensors == result.io_tensors
    assert record.tensors[0] == TensorSpec("input", "float32", (-1, 3, 16, 16), True)
    assert record.profiles == result.profiles
    assert record.onnx_path == model.resolve()
    assert record.engine_bytes == result.engine_bytes == result.engine_path.stat().st_size
    assert record.engine_file == "m.engine" and record.format == RECORD_FORMAT
    # Written by record_json, read by read_record: the same bytes again.
    assert record_json(record) == result.sidecar_path.read_bytes()
    assert onnx_for_engine(result.engine_path) == (model.resolve(), "")


def test_no_record_is_none_and_says_why(tmp_path: Path) -> None:
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"ftrt")
    assert read_record(engine) is None
    assert onnx_for_engine(engine) == (
        None,
        "the engine has no build record (.json) naming its ONNX model",
    )


def test_older_records_read(tmp_path: Path) -> None:
    """A record with only some fields, the ONNX path and precision only in its settings, the
    tensors under "network_io" with "mode" for the direction (as other tools write them)."""
    model = tmp_path / "m.onnx"
    model.write_bytes(_ONNX_BYTES)  # a real model: onnx_for_engine follows only those
    engine = write_record(
        tmp_path / "m.engine",
        {
            "settings": {"onnx_path": str(model), "precision": "fp16"},
            "network_io": [
                {"name": "x", "mode": "input", "dtype": "float32", "shape": [1, 3]},
                {"name": "y", "mode": "output", "shape": [1]},
            ],
            "a_field_of_a_newer_version": 1,
        },
    )
    record = read_record(engine)
    assert record is not None
    assert record.onnx_path == model and record.precision is Precision.FP16
    assert record.tensors == (
        TensorSpec("x", "float32", (1, 3), True),
        TensorSpec("y", "unknown", (1,), False),
    )
    assert record.engine_bytes is None and record.gpus == ()
    # Keys this version does not know are kept, so showing the record loses nothing.
    assert json.loads(record_json(record))["a_field_of_a_newer_version"] == 1
    assert onnx_for_engine(engine) == (model, "")


def test_a_relative_onnx_path_is_taken_from_the_engines_folder(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "m.onnx"
    model.write_bytes(_ONNX_BYTES)  # a real model: onnx_for_engine follows only those
    engine = write_record(tmp_path / "models" / "m.engine", {"onnx_path": "m.onnx"})
    assert onnx_for_engine(engine) == (model.resolve(), "")
    model.unlink()
    path, reason = onnx_for_engine(engine)
    assert path is None and reason.startswith("the ONNX model the engine was built from is gone")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([1, 2], "is not a JSON object"),
        ({"format": "polygraphy-metadata/2"}, "is not trtgui's (its format is"),
        # Issue #12: the field by its place in the file, what it must be, what it is.
        (
            {"engine_bytes": "large"},
            'has a bad field: engine_bytes must be an integer or null, got "large"; rebuild',
        ),
        ({"precision": "fp64"}, "has a bad field: precision must be one of fp32, fp16"),
        ({"settings": {"optimisation": 3}}, "Unknown build setting 'optimisation'"),
        ({"io_tensors": [{"dtype": "float32"}]}, 'io_tensors[0] has no "name"'),
        ({"io_tensors": [{"name": "x", "shape": "1x3"}]}, "must be a list of integers"),
        ({"io_tensors": [{"name": "x", "shape": 5}]}, "io_tensors[0].shape must be a list of"),
        ({"build_seconds": "abc"}, 'build_seconds must be a number of seconds or null, got "abc"'),
        ({"gpus": [{"index": 0}]}, 'has a bad field: gpus[0] has no "name"'),
    ],
)
def test_foreign_and_malformed_records_are_named(tmp_path: Path, data: object, says: str) -> None:
    engine = write_record(tmp_path / "m.engine", data)
    with pytest.raises(BuildRecordError) as info:
        read_record(engine)
    message = info.value.message
    assert says in message, message
    assert message.startswith("The build record m.engine.json ")
    assert "\n" not in message
    # The same problem is the reason when asked which ONNX the engine came from.
    assert onnx_for_engine(engine) == (None, message)


def test_unreadable_records(tmp_path: Path) -> None:
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"ftrt")
    record_path(engine).write_bytes(b"{not json")
    with pytest.raises(BuildRecordError, match=r"m.engine.json is unreadable \(.*\): rebuild"):
        read_record(engine)
    record_path(engine).write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BuildRecordError, match="is unreadable"):
        read_record(engine)
    record_path(engine).unlink()
    record_path(engine).mkdir()
    with pytest.raises(BuildRecordError, match="is a folder or a special file"):
        read_record(engine)


def test_an_empty_path_is_no_path() -> None:
    """Path("") would be the current folder: an empty ONNX path in a record means none."""
    record = BuildRecord.model_validate({"onnx_path": "", "converted_onnx_path": ""})
    assert record.onnx_path is None and record.converted_onnx_path is None
