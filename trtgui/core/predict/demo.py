"""The shipped demo's description: `load_demo` reads demo.json (checked against `DemoFile`)
into a `Demo` — a model, its labels, its preprocessing and photos."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, ValidationError
from pydantic_core import PydanticCustomError

from trtgui.core.errors import InferenceError, TrtGuiError
from trtgui.core.imaging import PreprocessSpec, get_preset, spec_from_dict
from trtgui.core.reading import read_regular_text
from trtgui.core.schema import JsonProblem, finding, loads


@dataclass(frozen=True)
class Demo:
    """The demo in resources/demo: a model, its labels, its preprocessing and photos."""

    title: str
    model: Path
    labels: Path | None
    spec: PreprocessSpec
    images: tuple[Path, ...]
    expected: dict[str, str] = field(default_factory=dict)  # image file name -> top-1 label


def _in_folder(name: str) -> str:
    """A file named by demo.json: a plain name inside the demo's folder (a description should
    not send the demo to /etc/passwd or ../../elsewhere)."""
    path = PurePath(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise PydanticCustomError("not_in_folder", "not a file name in the demo's folder")
    return name


_DemoName = Annotated[StrictStr, AfterValidator(_in_folder)]
_NAME = "a file name in the demo's folder"


class DemoFile(BaseModel):
    """What demo.json may hold, each field with what it must be in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    WHAT: ClassVar[str] = 'an object with a "model" and "images"'

    title: StrictStr = Field("demo", description="a string")
    model: _DemoName = Field(description=_NAME)
    labels: _DemoName | None = Field(None, description=f"{_NAME} or null")
    preset: StrictStr | dict[str, Any] = Field(
        "imagenet",
        description='a preset name such as "imagenet" or an object of preprocessing settings',
    )
    images: list[_DemoName] = Field([], description="a list of file names in the demo's folder")
    expected: dict[StrictStr, StrictStr] = Field(
        {}, description="an object of image file names to the label each should get"
    )


def load_demo(folder: str | Path | None = None) -> Demo:
    """Read `folder`/demo.json (default: the shipped resources/demo), checked against
    `DemoFile`. Raises one InferenceError naming the problem when it is missing, unreadable,
    has a wrong field or names a file that is not there."""
    from trtgui.core.resources import resource_path

    shipped = resource_path("demo")
    root = shipped if folder is None else Path(folder)
    config = root / "demo.json"
    fix = "reinstall trtgui" if root == shipped else f"fix {config}"
    try:
        # A regular file within LIMITS["demo"]: a FIFO dropped as demo.json would block.
        data = loads(read_regular_text(config, "demo"))
    except InferenceError as exc:
        raise InferenceError(
            f"The demo is not available ({config} is missing or unreadable): {fix}.",
            details=str(exc),
        ) from exc
    except JsonProblem as exc:
        raise InferenceError(
            f"The demo description {config} is unreadable ({exc.short}): {fix}.",
            details=exc.details,
        ) from exc
    try:
        described = DemoFile.model_validate(data)
    except ValidationError as exc:
        found = finding(exc, DemoFile, data)
        raise InferenceError(
            f"The demo description {config} is malformed: {found.sentence}; {fix}.",
            details=str(exc),
        ) from exc
    try:
        preset = described.preset
        spec = spec_from_dict(preset) if isinstance(preset, dict) else get_preset(preset)
    except TrtGuiError as err:  # PreprocessError or an unknown preset name
        raise InferenceError(
            f"The demo description {config} has an unusable preset: "
            f"{err.message.removesuffix('.')}; {fix}.",
            details=err.details,
        ) from err
    model = root / described.model
    images = tuple(root / name for name in described.images)
    missing = [p for p in (model, *images) if not p.is_file()]
    if missing:
        raise InferenceError(
            f"The demo is incomplete ({missing[0].name} is missing): {fix}.",
            details="\n".join(str(p) for p in missing),
        )
    labels = root / described.labels if described.labels else None
    return Demo(
        title=described.title,
        model=model,
        labels=labels if labels is not None and labels.is_file() else None,
        spec=spec,
        images=images,
        expected=dict(described.expected),
    )
