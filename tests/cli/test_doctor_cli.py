"""`trtgui-cli doctor`: text table, JSON, exit code."""

from __future__ import annotations

import json

import pytest

from trtgui.cli.main import main


def test_doctor_text(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["COMPONENT", "STATUS", "VERSION", "DETAILS"]
    for name in ("Python", "Qt (PySide6)", "onnx", "ONNX Runtime", "TensorRT for RTX",
                 "cuda-python", "pycuda", "NVIDIA driver"):  # fmt: skip
        assert any(line.startswith(name + " ") for line in lines), name
    assert "CPUExecutionProvider" in out
    assert out.rstrip().endswith(".")


def test_doctor_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["ok", "can_build", "items", "gpus", "driver_cuda_version"]
    assert data["ok"] is True
    names = {item["name"] for item in data["items"]}
    assert {"Python", "onnx", "ONNX Runtime", "NVIDIA TensorRT", "TensorRT for RTX"} <= names
    for item in data["items"]:
        assert set(item) == {
            "name", "category", "usable", "status", "required", "version", "detail", "install"
        }  # fmt: skip
        if not item["usable"]:
            assert item["install"], item


def test_doctor_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--nope"])
    assert exc.value.code == 2


def test_doctor_exit_1_when_required_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trtgui.core import doctor

    broken = doctor.DoctorReport(
        (doctor.DoctorItem("onnx", False, None, "onnx is not installed", "pip install onnx"),)
    )
    monkeypatch.setattr(doctor, "doctor_report", lambda: broken)
    code = main(["doctor"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "onnx: pip install onnx" in out
    assert err.startswith("error: required components are missing or broken: onnx")
    assert err.count("\n") == 1
