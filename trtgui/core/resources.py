"""Locating files shipped in `resources/` (the demo model, labels, icons, sample images).

In a wheel they live in the `trtgui.resources` package; in a source checkout they are in the
`resources/` folder beside the `trtgui/` package.
"""

from __future__ import annotations

from pathlib import Path


def resources_dir() -> Path:
    """The folder holding the shipped resources."""
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if checkout.is_dir():
        return checkout
    import trtgui.resources

    return Path(trtgui.resources.__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """Path of one shipped resource, e.g. `resource_path("demo", "labels.txt")`."""
    return resources_dir().joinpath(*parts)
