"""Stage 2: build settings, applying them to TensorRT, the build itself and its build record."""
