"""Images and how they become input tensors: the shared base of INT8 calibration (model
stage) and prediction.

`spec`: `PreprocessSpec`, the `PRESETS`, the one JSON reader (`read_spec`, `spec_from_dict`)
and `validate_spec`. `images`: `load_image` (the one image opener, with its format
allow-list). `resizing`: the tensor's size, the resized picture and the `Letterbox` back.
`preprocessing`: `preprocess` (image → tensor). `guess`: `guess_preprocess`, a best guess
from a model. The names below are
the package's public face: import them from `trtgui.core.imaging`.
"""

from __future__ import annotations

from trtgui.core.imaging.guess import (
    ModelLike,
    PresetGuess,
    TensorLike,
    guess_preprocess,
    guess_preset,
    image_input,
)
from trtgui.core.imaging.images import MAX_PIXELS, decode_image, load_image, to_rgb
from trtgui.core.imaging.preprocessing import ImageLike, pixels_to_tensor, preprocess
from trtgui.core.imaging.resizing import REDUCING_GAP, Letterbox, resize_image, target_size
from trtgui.core.imaging.spec import (
    CHANNEL_ORDERS,
    DTYPES,
    LAYOUTS,
    PRESETS,
    RESIZE_MODES,
    PreprocessSpec,
    describe_spec,
    get_preset,
    read_spec,
    resolve_spec,
    spec_from_dict,
    validate_spec,
)

__all__ = [
    "CHANNEL_ORDERS",
    "DTYPES",
    "LAYOUTS",
    "MAX_PIXELS",
    "PRESETS",
    "REDUCING_GAP",
    "RESIZE_MODES",
    "ImageLike",
    "Letterbox",
    "ModelLike",
    "PreprocessSpec",
    "PresetGuess",
    "TensorLike",
    "decode_image",
    "describe_spec",
    "get_preset",
    "guess_preprocess",
    "guess_preset",
    "image_input",
    "load_image",
    "pixels_to_tensor",
    "preprocess",
    "read_spec",
    "resize_image",
    "resolve_spec",
    "spec_from_dict",
    "target_size",
    "to_rgb",
    "validate_spec",
]
