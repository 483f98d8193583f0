"""Stage 4: a prediction on a real image: decoding outputs, drawing, comparing, the whole flow."""
