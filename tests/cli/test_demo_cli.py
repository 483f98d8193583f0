"""`trtgui-cli demo`: the README's main job, end to end on the bundled demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from trtgui.cli.main import main
from trtgui.core import backends


def test_demo_builds_checks_and_predicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT for RTX is not installed")
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1. model" in out and "2. build   TensorRT for RTX" in out
    assert "3. engine" in out
    assert "espresso" in out.split("4. predict", 1)[1].splitlines()[0]
    assert (tmp_path / "demo.engine").stat().st_size > 1_000_000
    assert (tmp_path / "demo.engine.json").is_file()
    assert (tmp_path / "coffee-annotated.png").stat().st_size > 10_000


def test_demo_without_build_still_predicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-build", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2. build   skipped" in out
    assert "ONNX Runtime" in out and "espresso" in out
    assert not (tmp_path / "demo.engine").exists()
