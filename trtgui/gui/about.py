"""Help > About: trtgui and every component's version (the doctor report), copyable."""

from __future__ import annotations

import platform
import sys
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def _basic_report() -> str:
    import PySide6
    from PySide6.QtCore import qVersion

    from trtgui import __version__

    lines = [
        f"trtgui {__version__}",
        f"Python {sys.version.split()[0]} ({platform.platform()})",
        f"PySide6 {PySide6.__version__}, Qt {qVersion()}",
    ]
    try:
        from trtgui.core.backends import available_backends, gpu_report

        for info in available_backends():
            lines.append(
                f"{info.title}: {info.version}"
                if info.available
                else f"{info.title}: not available — {info.install_hint}"
            )
        gpus = gpu_report()
        lines.append(
            "GPUs: " + ", ".join(f"{g.name} (sm {g.compute_capability_str})" for g in gpus.gpus)
            if gpus.has_gpu
            else f"GPU: none ({gpus.reason})"
        )
    except Exception as exc:  # the About box must open even when probing fails
        lines.append(f"backend probe failed: {exc}")
    return "\n".join(lines)


def _as_text(report: Any) -> str:
    if isinstance(report, str):
        return report
    for name in ("to_text", "text", "format_text", "render"):
        fn = getattr(report, name, None)
        if callable(fn):
            return str(fn())
    if isinstance(report, dict):
        import json

        return json.dumps(report, indent=2, default=str)
    return str(report)


def about_report() -> str:
    """The full version report: the doctor report when available, else the basics."""
    basic = _basic_report()
    try:
        from trtgui.core import doctor
    except ImportError:
        return basic
    try:
        report = doctor.doctor_report()
        fmt = getattr(doctor, "format_text", None)
        doctor_text = fmt(report) if callable(fmt) else _as_text(report)
    except Exception as exc:
        return basic + f"\n\n(the full component report failed: {exc})"
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    header = basic.splitlines()[0]
    qt_line = f"PySide6 {pyside_version}, Qt {qVersion()}"
    return f"{header}\n{qt_line}\n\n{doctor_text}"


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, report: str | None = None) -> None:
        super().__init__(parent)
        from trtgui import __version__

        self.setWindowTitle("About trtgui")
        self.resize(900, 520)
        title = QLabel(
            f"<h2>trtgui {__version__}</h2>"
            "<p>Turn ONNX models into NVIDIA TensorRT engines, inspect them and check "
            "them on a real image.</p>"
        )
        title.setWordWrap(True)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.report = report if report is not None else about_report()
        finally:
            QApplication.restoreOverrideCursor()
        self.text = QPlainTextEdit(self.report)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the report to the clipboard (for bug reports)")
        self.copy_button.clicked.connect(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)

    def copy(self) -> None:
        QApplication.clipboard().setText(self.report)
