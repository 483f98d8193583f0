"""Stage 3: engine files: plan header and verdict, engine info and layers, CUDA, runners, timing."""
