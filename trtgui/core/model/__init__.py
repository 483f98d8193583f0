"""Stage 1: what is in an ONNX model, checking it, converting its precision, its shape profiles."""
