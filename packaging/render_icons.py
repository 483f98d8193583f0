"""Render the application icon's PNG sizes from resources/icons/trtgui.svg with QtSvg.

A packaging-time tool (not imported by the app): rerun it whenever the SVG changes and
commit the PNGs. `--sheet FILE` also writes a preview of every icon on a light and a dark
background, to look at before committing.

    python packaging/render_icons.py [--sheet /tmp/icons.png]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
APP_SVG = ICONS / "trtgui.svg"
PNG_DIR = ICONS / "png"
SIZES = (16, 32, 48, 64, 128, 256)
TOOLBAR = ("open", "build", "cancel", "run", "engine", "image")


def load(svg: Path) -> QSvgRenderer:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"error: {svg} is not a valid SVG for QtSvg")
    return renderer


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def png_path(size: int) -> Path:
    return PNG_DIR / f"trtgui-{size}.png"


def write_pngs() -> list[Path]:
    renderer = load(APP_SVG)
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for size in SIZES:
        path = png_path(size)
        if not render(renderer, size).save(str(path), "PNG"):
            raise SystemExit(f"error: could not write {path}")
        written.append(path)
    return written


def write_sheet(path: Path) -> None:
    """Every app icon size and every toolbar icon (16, 24, 32 px) on light and dark rows."""
    app = load(APP_SVG)
    tools = [load(ICONS / "toolbar" / f"{name}.svg") for name in TOOLBAR]
    pad = 12
    row_h = max(SIZES) + 2 * pad
    tool_sizes = (16, 24, 32)
    width = sum(SIZES) + pad * (len(SIZES) + 1)
    sheet = QImage(width, 2 * row_h + 2 * (3 * 40 + pad), QImage.Format.Format_ARGB32)
    painter = QPainter(sheet)
    for band, bg in enumerate((QColor("#f4f4f4"), QColor("#2b2b2b"))):
        top = band * (row_h + 3 * 40 + pad)
        painter.fillRect(0, top, width, row_h + 3 * 40 + pad, bg)
        x = pad
        for size in SIZES:
            painter.drawImage(x, top + pad, render(app, size))
            x += size + pad
        for r, size in enumerate(tool_sizes):
            x = pad
            for tool in tools:
                painter.drawImage(x, top + row_h + r * 40, render(tool, size))
                x += 48
    painter.end()
    sheet.save(str(path), "PNG")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", type=Path, help="also write a preview sheet PNG here")
    args = parser.parse_args(argv)
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for path in write_pngs():
        print(path.relative_to(ROOT))
    if args.sheet:
        write_sheet(args.sheet)
        print(args.sheet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
