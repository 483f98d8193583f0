"""The PySide6 desktop app: main window, panels, table models, thread workers and the error funnel.

Nothing here calls TensorRT directly: workers call `trtgui.core` functions in a QThread and
panels render the immutable results. Heavy modules (onnx, numpy, TensorRT) load lazily so the
window appears quickly.
"""
