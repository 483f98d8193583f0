"""`trtgui-cli inspect`: text and JSON output, --check, exit codes, and the real entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.onnx_factory import MadeModel
from trtgui.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _has_row(out: str, *cells: str) -> bool:
    """A line whose cells, whitespace-normalised, are exactly `cells`."""
    want = " ".join(" ".join(c.split()) for c in cells)
    return any(" ".join(line.split()) == want for line in out.splitlines())


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_summary_dynamic(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "inspect", str(made_models["dynamic_spatial"].path))
    assert (code, err) == (0, "")
    assert "dynamic_spatial.onnx" in out
    assert "IR 8; opsets: ai.onnx 17" in out
    assert _has_row(out, "input", "float32", "N×3×H×W")
    assert _has_row(out, "output", "float32", "N×8")
    assert "Parameters     224 (896 B); 2 initializers" in out
    assert "Nodes          4" in out
    assert "Conv 1" in out
    assert "Custom ops     none" in out
    assert "External data  none" in out
    assert "shape inference ok" in out


def test_text_multi_io(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "inspect", str(made_models["multi_io"].path))
    assert code == 0
    assert "Inputs (2)" in out and "Outputs (3)" in out
    assert _has_row(out, "a", "float32", "2×4")
    assert _has_row(out, "b", "int64", "2×4")
    for name in ("sum", "product", "b_as_float"):
        assert _has_row(out, name, "float32", "2×4")


def test_text_custom_op(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "inspect", str(made_models["unknown_op"].path))
    assert code == 0
    assert "com.example:FancyOp" in out
    assert "plugin" in out


def test_unknown_dims_shown_as_question_mark(
    shared_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_models / "onnx" / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    code, out, _ = _run(capsys, "inspect", str(path))
    assert code == 0
    assert _has_row(out, "x", "float32", "?×3×?×?")


def test_external_data_missing_flagged(
    made_models: dict[str, MadeModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "inspect", str(made_models["external_data"].path))
    assert code == 0
    assert "external_data.bin  7.0 KiB  present" in out
    lonely = tmp_path / "external_data.onnx"
    shutil.copy(made_models["external_data"].path, lonely)
    code, out, _ = _run(capsys, "inspect", str(lonely))
    assert code == 0  # inspection does not need the weights
    assert "external_data.bin  7.0 KiB  MISSING" in out
    code, out, err = _run(capsys, "inspect", str(lonely), "--json")
    data = json.loads(out)
    assert data["external_data"][0]["exists"] is False
    # the checker needs the weights: --check fails with one line on stderr
    code, out, err = _run(capsys, "inspect", str(lonely), "--check")
    assert code == 1
    assert "problems found" in out
    assert err.count("\n") == 1 and err.startswith("error: the ONNX checker found")


def test_json_is_stable_to_dict(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    from trtgui.core.model.onnx_model import inspect_onnx

    path = made_models["dynamic_batch"].path
    code, out, _ = _run(capsys, "inspect", str(path), "--json")
    assert code == 0
    data = json.loads(out)
    assert data == json.loads(json.dumps(inspect_onnx(path).to_dict()))
    assert list(data) == [
        "path", "file_size", "ir_version", "opsets", "producer_name", "producer_version",
        "graph_name", "doc_string", "metadata", "inputs", "outputs", "node_count",
        "initializer_count", "parameter_count", "parameter_bytes", "op_histogram", "custom_ops",
        "external_data", "shape_inference_ok", "shape_inference_error",
    ]  # fmt: skip
    assert data["inputs"] == [{"name": "input", "dtype": "float32", "shape": ["batch", 3, 16, 16]}]
    assert data["outputs"][0]["shape"] == ["batch", 8]


def test_json_with_check(
    made_models: dict[str, MadeModel], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, "inspect", str(made_models["static_conv"].path), "--json", "--check"
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["check"] == {"ok": True, "findings": []}
    code, out, _ = _run(capsys, "inspect", str(made_models["static_conv"].path), "--check")
    assert code == 0 and "ONNX checker   valid" in out


def test_real_model_text(shared_models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_models / "onnx" / "efficientnet_lite0_dynbatch.onnx"
    code, out, _ = _run(capsys, "inspect", str(path))
    assert code == 0
    assert _has_row(out, "input", "float32", "batch×3×224×224")
    assert _has_row(out, "logits", "float32", "batch×1000")
    assert "Producer       pytorch 2.13.0" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "is a PNG image"),
        (b"\x0f garbage bytes \xff\xfe", "not a valid ONNX model"),
    ],
)
def test_bad_input_exit_1_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    code, out, err = _run(capsys, "inspect", str(path))
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_folder_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "inspect", str(tmp_path))
    assert code == 1 and "is a folder" in err


def test_verbose_prints_details(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x0f garbage")
    code, _, err = _run(capsys, "inspect", str(path), "-v")
    assert code == 1
    assert "DecodeError" in err or "first bytes" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["inspect"])
    assert exc.value.code == 2
    assert "MODEL" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "x.onnx", "--bogus"])
    assert exc.value.code == 2


def test_help_does_not_import_onnx() -> None:
    code = (
        "import argparse, sys\n"
        "from trtgui.cli import cmd_doctor, cmd_inspect\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        "cmd_inspect.add_parser(sub); cmd_doctor.add_parser(sub)\n"
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'tensorrt_rtx') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_entry_point_subprocess(made_models: dict[str, MadeModel], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "trtgui.cli.main", "inspect"]
    ok = subprocess.run(
        [*cmd, str(made_models["dynamic_batch"].path), "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["inputs"][0]["shape"] == ["batch", 3, 16, 16]
    bad = subprocess.run(
        [*cmd, str(tmp_path / "missing.onnx")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("error: Model file") and bad.stderr.count("\n") == 1


def test_long_metadata_is_one_line(shared_models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PP-OCR keeps its 6,623-line character list in metadata (6,625 classes = blank + lines +
    " ", shared/models README): one line of text, the whole list in --json."""
    path = shared_models / "onnx" / "ch_PP-OCRv3_rec_infer.onnx"
    code, out, _ = _run(capsys, "inspect", str(path))
    assert code == 0
    meta = [line for line in out.splitlines() if line.startswith("Metadata")]
    assert len(meta) == 1
    assert meta[0].startswith("Metadata       character = ")
    assert meta[0].endswith("… (6,623 lines; --json for all)")
    assert len(meta[0]) < 160
    assert len(out.splitlines()) < 30  # the whole summary fits a terminal
    code, out, _ = _run(capsys, "inspect", str(path), "--json")
    character = json.loads(out)["metadata"]["character"]
    assert len(character.splitlines()) == 6623  # all of it


def test_metadata_controls_escaped(
    made_models: dict[str, MadeModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnx

    model = onnx.load(made_models["static_conv"].path)
    onnx.helper.set_model_props(model, {"note": "red\x1b[31m text", "short": "a\nb"})
    path = tmp_path / "meta.onnx"
    onnx.save(model, path)
    code, out, _ = _run(capsys, "inspect", str(path))
    assert code == 0
    assert "\x1b" not in out
    assert "Metadata       note = red\\x1b[31m text" in out
    assert "Metadata       short = a ⏎ b" in out


def test_names_from_the_file_are_escaped(
    made_models: dict[str, MadeModel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Graph and tensor names, producer and doc string come from the file as well: no
    control character of theirs reaches the terminal."""
    import onnx

    model = onnx.load(made_models["static_conv"].path)
    model.graph.name = "g\x1b]0;title\x07"
    model.producer_name = "tool\r"
    path = tmp_path / "names.onnx"
    onnx.save(model, path)
    code, out, _ = _run(capsys, "inspect", str(path))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "Graph          g\\x1b]0;title\\x07" in out
    assert "Producer       tool\\x0d" in out
