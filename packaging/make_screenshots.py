"""Drive the app offscreen on the bundled demo and save a screenshot of each panel.

Rerun it whenever the UI changes; the README and the AppStream metadata show these files:
    QT_QPA_PLATFORM=offscreen python packaging/make_screenshots.py [--out packaging/screenshots]

The Build screenshot comes from a real TensorRT-RTX build of the demo model on the CPU; the
Engine screenshot shows that engine as a machine without a supported GPU sees it. With the
shared test models beside the project (../shared/models) it also shows the Inference panel on
four kinds of model (`kind-*.png`), each with the kind and preprocessing it guesses, and the
Precision check card for an ok and a refused build (`precision-*.png`; `--only-precision`
makes just those two).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "models"
# (picture name, model, photo): one per kind of model, each decoded with the guessed kind.
KIND_SHOTS = (
    ("kind-text-regions", "ch_PP-OCRv4_det_infer.onnx", "page.png"),
    ("kind-detection", "yolov8n-doclaynet.onnx", "page.png"),
    ("kind-faces", "retinaface_mnet025_tiny.onnx", "astronaut.png"),
    ("kind-keypoints", "yolo11n_pose_dyn.onnx", "astronaut.png"),
)
sys.path.insert(0, str(ROOT))


def _wait(app: object, condition: object, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not finish in time")
        time.sleep(0.02)
    for _ in range(20):  # let the last repaint land
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "packaging" / "screenshots")
    parser.add_argument("--size", default="1280x860", help="window size WxH")
    parser.add_argument(
        "--only-precision", action="store_true", help="only the Precision check card pictures"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only_precision:
        precision_shots(args.out)
        return 0
    width, height = (int(v) for v in args.size.split("x"))

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    # Keep the user's own settings (recent files, geometry) out of the pictures.
    settings_dir = tempfile.mkdtemp(prefix="trtgui-shots-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("trtgui-screenshots")
    app.setApplicationName("trtgui")

    from trtgui.gui.main_window import MainWindow
    from trtgui.gui.style import apply_theme

    apply_theme(app, "light")
    window = MainWindow()
    window.resize(width, height)
    window.show()
    window.probe_backends()
    window.open_demo()
    inference = window.inference_panel()
    _wait(app, lambda: window.model_info is not None and not inference.is_busy())

    def shot(name: str) -> None:
        for _ in range(10):
            app.processEvents()
        path = args.out / f"{name}.png"
        window.grab().save(str(path))
        print(f"saved {path}")

    window.show_tab(0)
    shot("model")

    build = window.build_panel()
    # A fixed, tidy folder: its path shows in the Build and Engine screenshots.
    engine_dir = Path(tempfile.gettempdir()) / "trtgui-demo"
    engine_dir.mkdir(exist_ok=True)
    for old in ("demo.engine", "demo.engine.json"):
        (engine_dir / old).unlink(missing_ok=True)
    build.set_settings(build.settings().with_changes(output_path=str(engine_dir / "demo.engine")))
    window.show_build()
    window.start_build()
    _wait(app, lambda: not build.is_building(), timeout_s=300)
    shot("build")

    engine = window.engine_panel()
    window.show_tab(2)
    _wait(app, lambda: not engine.is_busy())
    shot("engine")

    window.show_tab(3)
    inference.run()
    _wait(app, lambda: not inference.is_busy())
    shot("inference")

    for name, model, photo in KIND_SHOTS:
        if not (SHARED / "onnx" / model).is_file():
            print(f"skipped {name}: {SHARED / 'onnx' / model} is not there")
            continue
        inference.set_model(SHARED / "onnx" / model)
        inference.open_image(SHARED / "images" / photo)
        _wait(app, lambda: not inference.is_loading() and not inference.is_busy())
        inference.run()
        _wait(app, lambda: not inference.is_busy())
        shot(name)

    window.shutdown()
    window.close()
    precision_shots(args.out)
    return 0


def precision_shots(out: Path) -> None:
    """The Build result view's Precision check card for a real ok FP16 build and a real
    refused INT8 conversion (`precision-ok.png`, `precision-broken.png`): the card's own test
    builds both (with the shared models) and saves them when TRTGUI_SCREENSHOTS=1."""
    import subprocess

    if not (SHARED / "onnx").is_dir():
        print(f"skipped the precision card: {SHARED} is not there")
        return
    env = {
        **os.environ,
        "TRTGUI_SCREENSHOTS": "1",
        "TRTGUI_SCREENSHOTS_DIR": str(out.resolve()),  # --out elsewhere leaves the repo's alone
        "QT_QPA_PLATFORM": "offscreen",
    }
    test = ROOT / "tests" / "gui" / "test_precision_card.py"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test), "-k", "card"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    for name in ("precision-ok.png", "precision-broken.png"):
        print(f"saved {out / name}")


if __name__ == "__main__":
    raise SystemExit(main())
