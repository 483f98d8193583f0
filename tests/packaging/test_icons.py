"""The icons in resources/icons: every size present, SVGs valid for XML and for QtSvg."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)
TOOLBAR = ("open", "build", "cancel", "run", "engine", "image")
SVGS = [ICONS / "trtgui.svg", *(ICONS / "toolbar" / f"{n}.svg" for n in TOOLBAR)]


@pytest.mark.parametrize("size", SIZES)
def test_app_icon_png_exists_in_size(size: int) -> None:
    path = ICONS / "png" / f"trtgui-{size}.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        # Rounded corners are transparent, the middle is drawn.
        assert image.getpixel((0, 0))[3] == 0
        assert image.getpixel((size // 2, size // 2))[3] == 255


@pytest.mark.parametrize("svg", SVGS, ids=lambda p: p.stem)
def test_svg_parses_and_renders(svg: Path, qapp: object) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QIcon
    from PySide6.QtSvg import QSvgRenderer

    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox")
    renderer = QSvgRenderer(str(svg))
    assert renderer.isValid()
    # The way the app loads them: QIcon through Qt's SVG icon engine.
    pixmap = QIcon(str(svg)).pixmap(QSize(24, 24))
    assert not pixmap.isNull()
    image = pixmap.toImage()
    assert any(
        image.pixelColor(x, y).alpha() > 0
        for x in range(image.width())
        for y in range(image.height())
    )


def test_png_renders_match_the_svg(qapp: object) -> None:
    """The committed PNGs were rendered from the current SVG (rerun render_icons.py if not)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "render_icons", ROOT / "packaging" / "render_icons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    renderer = module.load(module.APP_SVG)
    fresh = module.render(renderer, 64)
    with Image.open(ICONS / "png" / "trtgui-64.png") as committed:
        committed_rgba = committed.convert("RGBA")
        diffs = 0
        for y in range(64):
            for x in range(64):
                c = fresh.pixelColor(x, y)
                r, g, b, a = committed_rgba.getpixel((x, y))
                if (
                    max(abs(c.red() - r), abs(c.green() - g), abs(c.blue() - b), abs(c.alpha() - a))
                    > 8
                ):
                    diffs += 1
    assert diffs < 64 * 64 // 50, f"{diffs} pixels differ: run python packaging/render_icons.py"
