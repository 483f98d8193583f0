"""The window never freezes on what is dropped on it (issue #12, "Hangs and a frozen window").

Special files (FIFOs, /dev/zero, folders, oversized files) and heavy ones (a 24-megapixel
photo, build records at their size limit, a model with 1.3 MB of metadata and 100,000-
character names, a 1x3x100000x100000 input) go through the window's drop path while
`tests/robustness/stall.py` records a heartbeat on the GUI thread. Each must settle (no hang),
refuse or show in bounded form, and leave the window responsive; closing the real app with
a worker stuck in a call it cannot leave exits within 2 s without Qt's abort.

The stall bound asserted here (STALL_LIMIT_MS) is looser than the 250 ms target so a loaded CI
machine does not fail it; bench/robustness.py reports the figure itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import onnx_factory
from tests.robustness import corpus, stall

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")
QtCore = pytest.importorskip("PySide6.QtCore")
try:
    from trtgui.gui import workers
    from trtgui.gui.main_window import MainWindow
except ImportError as exc:  # the GUI is optional for the core suite
    pytest.skip(f"the GUI is not importable: {exc}", allow_module_level=True)

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX"),
    pytest.mark.timeout(300),
]

# Four times the target: a GUI-thread read, decode or render of these files took 0.5-200 s.
STALL_LIMIT_MS = 4 * stall.STALL_TARGET_MS


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from trtgui.core.build.builder import build_engine
    from trtgui.core.build.settings import BuildSettings

    root = tmp_path_factory.mktemp("gui_files")
    model = onnx_factory.static_conv(root).path
    engine = root / "valid.engine"
    build_engine(BuildSettings(onnx_path=str(model), output_path=str(engine)))
    special = [
        c
        for kind in ("image", "engine", "onnx", "settings")
        for c in corpus.special_files(root / kind, kind)
    ]
    return {
        "model": model,
        "special": special,
        "records": corpus.special_record(root / "records", engine.read_bytes()),
        "demos": corpus.special_demo(root / "demos"),
        "heavy": {c.id: c for c in corpus.heavy_files(root / "heavy", engine.read_bytes())},
    }


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    settings = QtCore.QSettings(str(tmp_path / "trtgui.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    workers.stop_all(30000)


@pytest.fixture
def boxes() -> Iterator[list[str]]:
    with stall.recorded_boxes() as shown:
        yield shown


def _assert_settled_and_quick(report: stall.StallReport) -> None:
    assert not report.hangs, f"still working after the timeout: {report.hangs}"
    assert report.worst_ms < STALL_LIMIT_MS, "\n".join(report.lines())


def test_special_files_are_refused_without_freezing(
    window: Any, files: dict[str, Any], boxes: list[str]
) -> None:
    # The Build, Engine and Inference panels are made on first use (their imports are a
    # one-off cost, not the file's): made first.
    assert stall.first_use(window).settled
    special = files["special"] + files["demos"]
    report = stall.measure_stalls(window, [c.path for c in special], boxes=boxes)
    _assert_settled_and_quick(report)
    for case, measured in zip(special, report.files, strict=True):
        assert len(measured.boxes) == 1, f"{case.path.name}: {measured.boxes}"
        text = measured.boxes[0]
        assert "\n" not in text and "Traceback" not in text and "unexpected" not in text.lower()
    # A build record that is a FIFO, /dev/zero or huge: the engine opens, the panel says why
    # the record was not read, and no error box interrupts.
    shown_before = len(boxes)
    report = stall.measure_stalls(window, [c.path for c in files["records"]], boxes=boxes)
    _assert_settled_and_quick(report)
    assert len(boxes) == shown_before, boxes[shown_before:]
    panel = window.engine_panel()
    assert panel.engine_path() == files["records"][-1].path
    assert f"{files['records'][-1].path.name}.json" in panel.banner.details()


def test_heavy_files_open_bounded_without_freezing(
    window: Any, files: dict[str, Any], boxes: list[str]
) -> None:
    heavy = files["heavy"]
    stall.first_use(window)

    # A build record with a 1 MB string: the tab shows it cut, saying so.
    report = stall.measure_stalls(window, [heavy["record_1mb_string"].path], boxes=boxes)
    engine = window.engine_panel()
    text = engine.sidecar_text.toPlainText()
    assert "… (1,000,002 characters)" in text and len(text) < 20_000
    assert not engine.sidecar_bar.isHidden()
    assert all(len(v) < 400 for v in engine.build_view.values().values())

    # 7,000 tensors: 2,000 rows, then one saying how many more; the tab counts them all.
    report.files += stall.measure_stalls(
        window, [heavy["record_7k_tensors"].path], boxes=boxes
    ).files
    assert engine.io_model.rowCount() == 2001
    assert engine.io_model.index(2000, 0).data() == "… 5,000 more"
    assert engine.tabs.tabText(0) == "I/O tensors (7,000)"

    # 1.3 MB of metadata and 100,000-character names: shortened in the Model panel.
    report.files += stall.measure_stalls(
        window, [heavy["model_huge_metadata"].path], boxes=boxes
    ).files
    panel = window.model_panel
    assert window.model_info is not None and window.model_info.path.name == "huge_metadata.onnx"
    assert len(panel.metadata_label.text()) < 5000
    assert len(panel._fields["Graph"].text()) < 400
    assert len(str(panel.io_model.index(0, 1).data())) < 400

    # A 24-megapixel photo: decoded in a worker, shown as a 4096-pixel preview.
    report.files += stall.measure_stalls(window, [heavy["photo_24mp"].path], boxes=boxes).files
    inference = window.inference_panel()
    view = inference.results.view
    assert view.image_size() == (6000, 4000)
    assert view._item.pixmap().width() == 4096
    _assert_settled_and_quick(report)
    assert not boxes, boxes


def test_a_huge_input_is_refused_before_allocating(
    window: Any, files: dict[str, Any], boxes: list[str]
) -> None:
    """A model input of 1x3x100000x100000 and a photo: the tensor preview says why it cannot
    be made (112 GiB) instead of allocating it."""
    heavy = files["heavy"]
    stall.first_use(window)
    paths = [heavy["model_huge_input"].path, heavy["photo_24mp"].path]
    report = stall.measure_stalls(window, paths, boxes=boxes)
    _assert_settled_and_quick(report)
    inference = window.inference_panel()
    assert inference.input_tensor() is None
    # Refused by the spec's range check (height at most 8,192) or, past it, by the preview's
    # memory estimate: either way nothing was allocated and the panel says why.
    said = inference.controls.tensor_label.text()
    assert "too large" in said or "at most" in said, said


def test_running_on_a_large_photo_draws_off_the_gui_thread(
    window: Any, files: dict[str, Any], boxes: list[str]
) -> None:
    stall.first_use(window)
    report = stall.measure_stalls(
        window, [files["model"], files["heavy"]["photo_24mp"].path], boxes=boxes
    )
    report.files.append(stall.measure_run(window, boxes=boxes))
    _assert_settled_and_quick(report)
    panel = window.inference_panel()
    assert panel.report() is not None, boxes
    assert panel.results.view.image_size() == (6000, 4000)
    assert not boxes, boxes


# A real `trtgui` process: a worker stuck in a call that never returns (an Event nobody sets,
# as a read blocked in the kernel would be), then the window is closed.
_CLOSE_SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from trtgui.gui import app, smoke, workers

    gate = threading.Event()

    def arm(qt_app, window, deadline_ms=None):
        from PySide6.QtCore import QTimer

        workers.start_worker(lambda ctx: gate.wait(), name="stuck read")
        def close():
            print("closing", time.monotonic(), flush=True)
            window.close()
        QTimer.singleShot(300, close)
        return True

    smoke.install = arm
    sys.exit(app.main([]))
    """
)


def test_closing_with_a_stuck_worker_exits_within_2_s(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "HOME": str(tmp_path),
    }
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _CLOSE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    ended = time.monotonic()
    closing = [line for line in done.stdout.splitlines() if line.startswith("closing")]
    assert closing, (done.stdout, done.stderr)
    after_close = ended - float(closing[0].split()[1])
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "QThread: Destroyed while thread" not in done.stderr
    assert after_close < 2.0, f"{after_close:.2f} s from close to exit"
    assert ended - t0 < 30
