"""Help > About: trtgui and every component's version (the doctor report), copyable."""

from __future__ import annotations

import platform
import sys

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


def about_report() -> str:
    """trtgui and Qt versions, then the doctor report of every component (Python included)."""
    import PySide6
    from PySide6.QtCore import qVersion

    from trtgui import __version__
    from trtgui.core.doctor import doctor_report, format_text

    header = f"trtgui {__version__}\nPySide6 {PySide6.__version__}, Qt {qVersion()}"
    try:
        return f"{header}\n\n{format_text(doctor_report())}"
    except Exception as exc:  # the About box must open even when probing fails
        python = f"Python {sys.version.split()[0]} ({platform.platform()})"
        return f"{header}\n{python}\n\n(the full component report failed: {exc})"


class AboutDialog(QDialog):
    """The version report in a copyable text box (for bug reports)."""

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
