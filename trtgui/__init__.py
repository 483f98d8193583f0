"""trtgui: turn ONNX models into TensorRT engines, inspect them, and check them on an image.

Importing this package imports neither Qt nor TensorRT; those load only when used.
"""

__version__ = "0.1.0"
