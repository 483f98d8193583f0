"""`trtgui-cli demo`: the README's main job, end to end on the bundled demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from trtgui.cli.main import main
from trtgui.core import backends
from trtgui.core.paths import demo_engine_path, demo_output_dir


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary XDG_DATA_HOME, and a separate empty working folder to run from."""
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return data


def test_demo_builds_checks_and_predicts(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not backends.probe_backend("rtx").available:
        pytest.skip("TensorRT for RTX is not installed")
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    # The XDG base directory spec: user data goes to $XDG_DATA_HOME/<app>.
    folder = data_home / "trtgui" / "demo"
    assert demo_output_dir() == folder
    assert f"to {folder}" in out.splitlines()[0]
    assert "1. model" in out and "2. build   TensorRT for RTX" in out
    assert "3. engine" in out
    assert "espresso" in out.split("4. predict", 1)[1].splitlines()[0]
    assert (folder / "demo.engine").stat().st_size > 1_000_000
    assert demo_engine_path() == folder / "demo.engine"
    assert (folder / "demo.engine.json").is_file()
    assert (folder / "coffee-annotated.png").stat().st_size > 10_000
    assert "trtgui --demo" in out
    assert list(Path.cwd().iterdir()) == []  # nothing written where the user stood


def test_demo_without_build_still_predicts(
    data_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = tmp_path / "chosen"
    assert main(["demo", "--no-build", "--out", str(chosen)]) == 0
    out = capsys.readouterr().out
    assert f"to {chosen}" in out
    assert "2. build   skipped" in out
    assert "ONNX Runtime" in out and "espresso" in out
    assert (chosen / "coffee-annotated.png").is_file()  # --out is honoured
    assert not (chosen / "demo.engine").exists()
    assert not data_home.exists() and list(Path.cwd().iterdir()) == []


def test_demo_out_that_is_a_file_is_refused(
    data_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("the user's file")
    assert main(["demo", "--no-build", "--out", str(taken)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {taken} is a file, not a folder: choose another folder with --out DIR."
    assert taken.read_text() == "the user's file"
