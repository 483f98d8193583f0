"""Issue #12, "Data loss": output paths are checked before any work, and nothing the user
owns is lost or half-written.

Every case of `corpus.bad_output_paths` runs through the CLI: exit 1, one `error:` line
naming the cause, the work never started (its function is patched to record calls), and the
whole folder byte for byte as it was. Then the full-disk cases on a real (tiny, full) tmpfs,
where root may mount one, and the GUI: the Build panel's output set to the model, Export
settings onto the model, a log saved onto a FIFO.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests import onnx_factory
from tests.robustness import corpus
from tests.robustness.test_bad_inputs import JARGON, run_cli


def _ids() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return [c.id for c in corpus.bad_output_paths(Path(tmp))]


def snapshot(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under `folder`: its kind and, for a file, its bytes' hash; a link's target."""
    found: dict[str, tuple[Any, ...]] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            info = path.lstat()
            key = str(path.relative_to(folder))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                found[key] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                found[key] = (stat.S_IFMT(info.st_mode), info.st_rdev)
    return found


@pytest.fixture(scope="module")
def output_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("outputs")
    return folder, {c.id: c for c in corpus.bad_output_paths(folder)}


def _patch_work(monkeypatch: pytest.MonkeyPatch, dotted: str) -> list[str]:
    """Replace the function that starts the work with one that records its call."""
    calls: list[str] = []
    module_name, _, attr = dotted.rpartition(".")
    try:
        owner: Any = importlib.import_module(module_name)
    except ModuleNotFoundError:  # a method: module.Class.method
        module_name, _, cls = module_name.rpartition(".")
        owner = getattr(importlib.import_module(module_name), cls)

    def started(*args: Any, **kwargs: Any) -> Any:
        calls.append(dotted)
        raise RuntimeError("the work started")

    monkeypatch.setattr(owner, attr, started)
    return calls


@pytest.mark.parametrize("case_id", _ids())
def test_bad_output_is_refused_before_any_work(
    case_id: str,
    output_cases: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, cases = output_cases
    case = cases[case_id]
    before = snapshot(folder)
    calls = _patch_work(monkeypatch, case.work)
    code, _, err = run_cli(capsys, list(case.args))
    assert code == 1, f"exit {code}; stderr {err!r}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err  # no progress: no build
    assert case.message in lines[0], lines[0]
    for word in JARGON:
        assert word not in lines[0], lines[0]
    assert not calls, f"the work started before the refusal: {calls}"
    assert snapshot(folder) == before, "a file in the folder changed, appeared or went"


def test_the_corpus_covers_the_issue(output_cases: tuple[Path, dict[str, Any]]) -> None:
    """The issue's data-loss list: the model as -o (also via sub/..), --save-settings onto the
    model, --keep-onnx onto the input, a folder as -o with a user file beside it, a long
    name, a device node, the photo as --save."""
    _, cases = output_cases
    wanted = {
        "model_itself",
        "model_dotdot",
        "settings_onto_model",
        "keep_onnx_onto_input",
        "engine_folder_user_sidecar",
        "name_too_long",
        "picture_onto_photo",
        "outputs_onto_file",
    }
    assert wanted <= set(cases)
    if os.geteuid() == 0:
        assert "engine_device" in cases


def test_core_build_refuses_the_same_before_any_work(
    output_cases: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`build_engine` itself (the GUI's path) refuses the engine and record cases before
    preparing or parsing the model."""
    from trtgui.core.build import builder
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.errors import OutputPathError
    from trtgui.core.model.profiles import Precision

    folder, _ = output_cases
    calls = _patch_work(monkeypatch, "trtgui.core.build.builder._prepare")
    before = snapshot(folder)
    model = str(folder / "m.onnx")
    for target in ("m.onnx", "sub/../m.onnx", "hard.engine", "x.engine", "y.engine", "sub"):
        with pytest.raises(OutputPathError):
            builder.build_engine(BuildSettings(onnx_path=model, output_path=str(folder / target)))
    with pytest.raises(OutputPathError, match="converted model"):
        builder.build_engine(
            BuildSettings(
                onnx_path=str(folder / "m.fp16.onnx"),
                output_path=str(folder / "m.engine"),
                precision=Precision.FP16,
                keep_converted_onnx=True,
            )
        )
    assert not calls
    assert snapshot(folder) == before


def test_output_onto_the_models_weights_is_refused(tmp_path: Path) -> None:
    """An external-data model: the engine may not replace its weights file."""
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.errors import OutputPathError

    made = onnx_factory.external_data(tmp_path)
    weights = [p for p in tmp_path.iterdir() if p.suffix != ".onnx"]
    assert len(weights) == 1
    before = snapshot(tmp_path)
    with pytest.raises(OutputPathError, match="weights file"):
        build_engine(BuildSettings(onnx_path=str(made.path), output_path=str(weights[0])))
    assert snapshot(tmp_path) == before


def test_save_settings_only_after_a_successful_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = onnx_factory.unknown_op(tmp_path).path  # TensorRT cannot build it
    saved = tmp_path / "s.json"
    saved.write_text('{"precision": "fp16"}\n')
    code, _, err = run_cli(
        capsys,
        ["build", str(model), "-o", str(tmp_path / "u.engine"), "--save-settings", str(saved)],
    )
    assert code == 1 and "settings saved" not in err
    assert saved.read_text() == '{"precision": "fp16"}\n'  # the failed build saved nothing
    good = onnx_factory.static_conv(tmp_path).path
    code, _, err = run_cli(
        capsys,
        ["build", str(good), "-o", str(tmp_path / "g.engine"), "--save-settings", str(saved)],
    )
    assert code == 0, err
    assert json.loads(saved.read_text())["onnx_path"] == str(good)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# -- full disk ------------------------------------------------------------------------------------


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_full_disk_keeps_every_old_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a real full disk: `predict --save`, `--save-settings`, `build -o` and
    `run --save-outputs` over existing files leave them byte for byte, no temporary file, and a
    message that names the cause (not "use a .png or .jpg name")."""
    model = onnx_factory.static_conv(tmp_path).path
    photo = tmp_path / "photo.png"
    photo.write_bytes(corpus._png_bytes(32, 32))
    with corpus.full_disk(tmp_path / "full") as full:
        old = {
            "old.png": corpus._png_bytes(64, 64),
            "s.json": b'{"precision": "fp16"}\n',
            "e.engine": b"an older engine",
            "e.engine.json": b'{"old": "record"}\n',
            "output.npy": b"old array",
        }
        for name, data in old.items():
            (full / name).write_bytes(data)
        corpus.fill(full)
        runs = [
            ["predict", str(model), str(photo), "--save", str(full / "old.png")],
            ["build", str(model), "-o", str(tmp_path / "ok.engine"), "--save-settings",
             str(full / "s.json")],
            ["build", str(model), "-o", str(full / "e.engine")],
            ["run", str(model), "--save-outputs", str(full)],
        ]  # fmt: skip
        for args in runs:
            code, _, err = run_cli(capsys, args)
            assert code == 1, err
            assert "the disk is full" in err and "use a .png" not in err, err
            assert "Traceback" not in err and "Errno" not in err, err
            for name, data in old.items():
                assert (full / name).read_bytes() == data, f"{args[0]}: {name} changed"
            assert _temps(full) == [], f"{args[0]} left {_temps(full)}"


def test_read_only_folder_is_refused_before_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = onnx_factory.static_conv(tmp_path).path
    calls = _patch_work(monkeypatch, "trtgui.core.build.builder.build_engine")
    with corpus.tmpfs(tmp_path / "ro", "size=64k,ro") as folder:
        code, _, err = run_cli(capsys, ["build", str(model), "-o", str(folder / "m.engine")])
        assert code == 1 and "the file system is read-only" in err, err
        assert not calls and list(folder.iterdir()) == []


# -- the GUI ------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_gui_output_set_to_the_model_is_refused_before_building(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tensorrt_rtx")
    from trtgui.core.backends import available_backends
    from trtgui.core.model.onnx_model import inspect_onnx
    from trtgui.gui import errors
    from trtgui.gui.build_panel import BuildPanel

    model = onnx_factory.static_conv(tmp_path).path
    (tmp_path / "x.engine").mkdir()
    (tmp_path / "x.engine.json").write_text('{"mine": true}\n')
    panel = BuildPanel()
    qtbot.addWidget(panel)
    panel.set_backends(available_backends())
    panel.set_model(inspect_onnx(model))
    before = snapshot(tmp_path)
    try:
        for target, words in ((model, "the ONNX model itself"), (tmp_path / "x.engine", "folder")):
            errors.last_box = None
            panel.form.output_edit.setText(str(target))
            panel.start_build()  # no "Replace?" question: refused first
            assert not panel.is_building()
            box = errors.last_box
            assert box is not None and words in box.text() and "\n" not in box.text()
            assert " -o" not in box.text()  # GUI words, no CLI flag
            assert panel.phase_label.text().startswith("Not built")
        assert snapshot(tmp_path) == before
    finally:
        panel.shutdown()


def test_gui_export_settings_onto_the_model_or_a_full_disk(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Build > Export settings (`save_settings`, what the menu's dialog calls)."""
    from PySide6.QtWidgets import QWidget

    from trtgui.core.build.settings import BuildSettings
    from trtgui.gui import errors
    from trtgui.gui.settings_io import save_settings

    window = QWidget()
    qtbot.addWidget(window)

    model = onnx_factory.static_conv(tmp_path).path
    original = model.read_bytes()
    settings = BuildSettings(onnx_path=str(model), output_path=str(tmp_path / "m.engine"))
    errors.last_box = None
    assert not save_settings(window, settings, model)
    assert errors.last_box is not None and "the ONNX model itself" in errors.last_box.text()
    assert model.read_bytes() == original
    with corpus.full_disk(tmp_path / "full") as full:
        old = full / "b.json"
        old.write_text('{"precision": "fp16"}\n')
        corpus.fill(full)
        errors.last_box = None
        assert not save_settings(window, settings, old)
        assert errors.last_box is not None and "the disk is full" in errors.last_box.text()
        assert old.read_text() == '{"precision": "fp16"}\n' and _temps(full) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_gui_log_saved_onto_a_fifo_is_refused(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from trtgui.core.errors import OutputPathError
    from trtgui.gui.log_view import LogView

    view = LogView()
    qtbot.addWidget(view)
    fifo = tmp_path / "log.txt"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="named pipe"):
        view.save(fifo)  # would have blocked the window for good (open for writing)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
