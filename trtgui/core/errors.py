"""The one exception family trtgui raises.

Every error carries a one-line message for people (`str(err)`, also `err.message`) that says
what went wrong and what to do, and `err.details`: the full technical text (parser errors,
TensorRT log lines, the original exception) shown behind a "Details" button or `--verbose`.
"""

from __future__ import annotations

from collections.abc import Sequence

from trtgui.core.text import message_line


class TrtGuiError(Exception):
    """Base of all trtgui errors."""

    def __init__(self, message: str, details: str = "") -> None:
        # Messages quote names and texts from files: one bounded line, no control character
        # (a tensor name could hold ESC sequences, a fake "error:" line, 100,000 characters).
        message = message_line(message)
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ModelLoadError(TrtGuiError):
    """An ONNX file could not be read (missing, corrupt, foreign, missing external data)."""


class OnnxParseError(TrtGuiError):
    """TensorRT's ONNX parser rejected the model; `errors` holds one line per parser error."""

    def __init__(self, message: str, errors: Sequence[str] = (), details: str = "") -> None:
        self.errors: tuple[str, ...] = tuple(errors)
        super().__init__(message, details or "\n".join(self.errors))


class ProfileError(TrtGuiError):
    """A shape profile is impossible for the model (names the input and dimension)."""


class SettingsError(TrtGuiError):
    """A settings file or value is malformed or unusable (names the setting)."""


class PreprocessError(SettingsError):
    """Preprocessing settings (how an image becomes an input tensor) are malformed or
    impossible: names the field and what it must be."""


class OutputPathError(TrtGuiError):
    """An output file cannot go where asked: its folder is missing, the path is a folder or a
    special file, or it is a file the job reads."""


class BuildRecordError(TrtGuiError):
    """An engine's build record (`<engine>.json`) is unreadable, foreign or malformed."""


class BuildCancelled(TrtGuiError):
    """The user cancelled a build; nothing was written."""


class EngineBuildError(TrtGuiError):
    """TensorRT failed to build the engine; `details` holds its error lines."""


class EngineLoadError(TrtGuiError):
    """An engine file could not be read or deserialized on this machine."""


class BackendUnavailable(TrtGuiError):
    """TensorRT, TensorRT-RTX, CUDA or a GPU needed for this action is not usable here."""


class InferenceError(TrtGuiError):
    """Running a model failed, or an input (such as an image) is unusable."""
