"""What must hold before the Build panel starts a build, checked before any work.

A model is open; the settings and their shape profiles are valid for it; INT8 has its
calibration images; the engine path is filled in (the default beside the model) and is a file
the build may write; and, when that file exists, the user has said to replace it. Each failed
check is a `TrtGuiError` that says what to do; the panel shows it through the error funnel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

from trtgui.core.build.result import check_build_outputs
from trtgui.core.build.settings import BuildSettings
from trtgui.core.errors import SettingsError, TrtGuiError
from trtgui.core.model.profiles import Precision, validate_profiles
from trtgui.gui.build_form import default_output_for

if TYPE_CHECKING:  # onnx loads with the model, not with the panel
    from trtgui.core.model.onnx_model import ModelInfo


def settings_to_build(
    info: ModelInfo | None, read_settings: Callable[[], BuildSettings]
) -> BuildSettings:
    """The settings to build, the engine path filled in. Raises TrtGuiError (ProfileError,
    SettingsError) saying what to fix, or OutputPathError when the engine cannot go there:
    never the model, a folder or a device."""
    if info is None:
        raise TrtGuiError("Open an ONNX model first (File > Open, Ctrl+O).")
    settings = read_settings()
    validate_profiles(info, settings.profiles)
    if settings.precision is Precision.INT8 and not settings.calibration_dir:
        raise SettingsError(
            "INT8 needs calibration images: choose a calibration folder of images like "
            "the ones the model will see (INT8 calibration, Images)."
        )
    engine = Path(
        settings.output_path or default_output_for(Path(settings.onnx_path), settings.precision)
    )
    settings = settings.with_changes(output_path=str(engine))
    check_build_outputs(settings)  # before asking to replace anything
    return settings


def confirm_replace(parent: QWidget, engine: Path) -> bool:
    """Ask before a build replaces an existing engine file (No is the default)."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Replace the engine?",
        f"{engine.name} already exists in {engine.parent}.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setInformativeText("Building replaces it. Choose another engine file to keep it.")
    box.button(QMessageBox.StandardButton.Yes).setText("Replace")
    box.button(QMessageBox.StandardButton.No).setText("Keep it")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes
