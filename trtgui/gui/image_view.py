"""A zoomable image view that fits the picture to the window, and PIL → QImage conversion.

`ImageView` shows one picture (the annotated prediction or the plain photo): it fits the
window until the user zooms (wheel with Ctrl, or +/-/0/F keys), then keeps the zoom. It does
not accept drops itself, so a drop lands on the panel that owns it.
"""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

# The longest side the window shows of a picture: a 24-megapixel photo becomes 4096 x 2731
# (11 MP) for the screen, made in a worker; its pixels keep their full size everywhere else
# (the tensor, the drawing, a saved picture).
DISPLAY_MAX_SIDE = 4096


def display_image(image: Image.Image, max_side: int = DISPLAY_MAX_SIDE) -> QImage:
    """`image` as a QImage no larger than `max_side` on its long side: what the window shows.
    Call it in a worker: downscaling a large photo takes ~0.1 s and a QImage may be made in
    any thread (a QPixmap may not)."""
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    qimage = pil_to_qimage(image)
    # Converted here to the format pixmaps are kept in, so QPixmap.fromImage on the GUI
    # thread shares the pixels instead of converting them (135 ms for 4096 x 2731 RGB888).
    native = (
        QImage.Format.Format_ARGB32_Premultiplied
        if qimage.hasAlphaChannel()
        else QImage.Format.Format_RGB32
    )
    return qimage.convertToFormat(native)


def pil_to_qimage(image: Image.Image) -> QImage:
    """A deep copy of `image` as a QImage (RGB888 or RGBA8888), safe after `image` is freed."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    fmt = QImage.Format.Format_RGBA8888 if image.mode == "RGBA" else QImage.Format.Format_RGB888
    channels = 4 if image.mode == "RGBA" else 3
    data = image.tobytes()
    qimage = QImage(data, image.width, image.height, image.width * channels, fmt)
    return qimage.copy()  # QImage does not own `data`


class ImageView(QGraphicsView):
    """Shows one image, fitted to the view until the user zooms; Ctrl+wheel zooms at the mouse."""

    zoom_changed = Signal(float)  # current scale factor (1.0 = one image pixel per screen pixel)

    MIN_ZOOM = 0.02
    MAX_ZOOM = 32.0

    def __init__(self, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self._fit = True
        self._source_scale = 1.0  # picture pixels per pixel of what is shown
        self._placeholder = placeholder
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor("#2b2d31"))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumSize(160, 120)
        # Drops belong to the owning panel: let them travel up the parent chain.
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)

    # -- content ----------------------------------------------------------------------------

    def set_image(
        self,
        image: QImage | QPixmap | Image.Image | None,
        source_size: tuple[int, int] | None = None,
    ) -> None:
        """Show `image` (None clears the view); fits it to the window.

        `source_size`: the (width, height) of the picture `image` is a downscaled preview of
        (`display_image`), so zoom 1.0 still means one picture pixel per screen pixel. A
        Pillow image is downscaled here, in the calling thread: pass a QImage made by
        `display_image` in a worker instead for large pictures.
        """
        if image is None:
            self._item.setPixmap(QPixmap())
        else:
            if isinstance(image, Image.Image):
                source_size = source_size or image.size
                image = display_image(image)
            pixmap = image if isinstance(image, QPixmap) else QPixmap.fromImage(image)
            self._item.setPixmap(pixmap)
        shown = self._item.pixmap()
        width = source_size[0] if source_size else shown.width()
        # Picture pixels per shown pixel: >1 when a preview of a larger picture is shown.
        self._source_scale = width / shown.width() if shown.width() > 0 else 1.0
        self._scene.setSceneRect(QRectF(shown.rect()))
        self.fit_to_window()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def image_size(self) -> tuple[int, int]:
        """The size of the picture shown (the original's, when a preview is shown)."""
        pm = self._item.pixmap()
        return (round(pm.width() * self._source_scale), round(pm.height() * self._source_scale))

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.viewport().update()

    # -- zoom -------------------------------------------------------------------------------

    def zoom(self) -> float:
        """Screen pixels per picture pixel (of the original picture, not its preview)."""
        return float(self.transform().m11()) / self._source_scale

    def fit_to_window(self) -> None:
        self._fit = True
        if self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
            # Never blow a small picture up past 4x: it only shows blur.
            if self.zoom() > 4.0:
                self.set_zoom(4.0, keep_fit=True)
        self.zoom_changed.emit(self.zoom())

    def set_zoom(self, factor: float, keep_fit: bool = False) -> None:
        factor = max(self.MIN_ZOOM, min(self.MAX_ZOOM, factor))
        self.resetTransform()
        scale = factor * self._source_scale
        self.scale(scale, scale)
        self._fit = keep_fit
        self.zoom_changed.emit(self.zoom())

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom() * step)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    # -- events -----------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier or not self._scrollable():
            delta = event.angleDelta().y()
            if delta:
                self.zoom_by(1.25 if delta > 0 else 0.8)
            event.accept()
            return
        super().wheelEvent(event)

    def _scrollable(self) -> bool:
        return self.horizontalScrollBar().maximum() > 0 or self.verticalScrollBar().maximum() > 0

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(0.8)
        elif key == Qt.Key.Key_0:
            self.actual_size()
        elif key == Qt.Key.Key_F:
            self.fit_to_window()
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit_to_window()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        if self.has_image() or not self._placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor("#9aa0a6"))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(
            self.viewport().rect(),
            int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
            self._placeholder,
        )
        painter.restore()
