"""Image loading, preprocessing against hand-computed values, presets and the model guess."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.robustness.corpus import broken_images
from trtgui.core.errors import InferenceError, PreprocessError
from trtgui.core.imaging import (
    MAX_PIXELS,
    PRESETS,
    Letterbox,
    PreprocessSpec,
    decode_image,
    describe_spec,
    get_preset,
    guess_preprocess,
    load_image,
    pixels_to_tensor,
    preprocess,
    resolve_spec,
    spec_from_dict,
    target_size,
    validate_spec,
)

RAW = PreprocessSpec(resize="stretch", height=2, width=2)  # identity normalisation


def _pixels(arr: list[list[list[int]]]) -> Image.Image:
    return Image.fromarray(np.array(arr, dtype=np.uint8), "RGB")


# -- loading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,suffix",
    [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"), ("WEBP", ".webp"), ("TIFF", ".tif")],
)
def test_load_formats(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"x{suffix}"
    Image.new("RGB", (30, 20), (200, 100, 50)).save(path, format=fmt)
    img = load_image(path)
    assert img.mode == "RGB" and img.size == (30, 20)
    r, g, b = img.getpixel((15, 10))  # type: ignore[misc]
    assert abs(r - 200) <= 3 and abs(g - 100) <= 3 and abs(b - 50) <= 3


def test_grayscale_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "g.png"
    Image.new("L", (4, 4), 77).save(path)
    assert load_image(path).getpixel((0, 0)) == (77, 77, 77)


def test_rgba_composited_on_white_by_default(tmp_path: Path) -> None:
    arr = np.zeros((2, 2, 4), np.uint8)
    arr[0, 0] = (255, 0, 0, 255)  # opaque red
    arr[0, 1] = (255, 0, 0, 0)  # fully transparent
    arr[1, 0] = (0, 0, 0, 128)  # half-transparent black
    path = tmp_path / "a.png"
    Image.fromarray(arr, "RGBA").save(path)
    img = load_image(path)
    assert img.getpixel((0, 0)) == (255, 0, 0)
    assert img.getpixel((1, 0)) == (255, 255, 255)
    assert all(120 <= v <= 135 for v in img.getpixel((0, 1)))  # type: ignore[union-attr]
    on_black = load_image(path, background=(0, 0, 0))
    assert on_black.getpixel((1, 0)) == (0, 0, 0)


def test_palette_with_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 255, 10, 20, 30] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.info["transparency"] = 1
    path = tmp_path / "p.png"
    img.save(path, transparency=1)
    out = load_image(path)
    assert out.getpixel((0, 0)) == (0, 0, 255)
    assert out.getpixel((1, 0)) == (255, 255, 255)


def test_16_bit_grayscale_is_rescaled(tmp_path: Path) -> None:
    arr = np.array([[0, 32896, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    out = np.asarray(load_image(path))
    assert out[0, :, 0].tolist() == [0, 128, 255]


def test_float_tiff_in_unit_range(tmp_path: Path) -> None:
    path = tmp_path / "f.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), "F").save(path)
    assert np.asarray(load_image(path))[0, :, 0].tolist() == [0, 128, 255]


def test_cmyk_and_bilevel(tmp_path: Path) -> None:
    Image.new("CMYK", (3, 3), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    assert load_image(tmp_path / "c.jpg").mode == "RGB"
    Image.new("1", (3, 3), 1).save(tmp_path / "b.png")
    assert load_image(tmp_path / "b.png").getpixel((1, 1)) == (255, 255, 255)


def test_exif_orientation_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif.tobytes(), quality=95)
    out = load_image(path)
    assert out.size == (20, 40)
    r, g, _ = out.getpixel((10, 2))  # type: ignore[misc]
    assert r > 200 and g < 60  # the red left edge is now at the top


def test_every_bad_image_raises_inference_error(tmp_path: Path) -> None:
    cases = broken_images(tmp_path / "bad")
    assert len(cases) >= 15
    for case in cases:
        with pytest.raises(InferenceError) as info:
            load_image(case.path)
        assert str(info.value), case.id
        assert "\n" not in str(info.value)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_bomb_just_above_limit_is_refused_before_decoding() -> None:
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse there too.
    side = int(MAX_PIXELS**0.5) + 10
    with pytest.raises(InferenceError, match="too large"):
        decode_image(_png_claiming(side, side), "bomb.png")


def test_bad_bytes_in_memory() -> None:
    with pytest.raises(InferenceError, match="not an image"):
        decode_image(b"hello", "x")


def test_shared_photos_load(shared_models: Path) -> None:
    page = load_image(shared_models / "images" / "page.png")  # grayscale PNG
    assert page.mode == "RGB" and page.size == (384, 191)


# -- preprocessing, by hand -----------------------------------------------------------------


def test_stretch_identity_nchw_exact() -> None:
    img = _pixels([[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [100, 110, 120]]])
    x, box = preprocess(img, RAW)
    assert x.shape == (1, 3, 2, 2) and x.dtype == np.float32
    assert x[0, 0].tolist() == [[10, 40], [70, 100]]  # R plane
    assert x[0, 2].tolist() == [[30, 60], [90, 120]]  # B plane
    assert box == Letterbox(2, 2, 2, 2, 1.0, 1.0)


def test_scale_mean_std_hand_computed() -> None:
    img = _pixels([[[255, 0, 51], [0, 255, 102]], [[0, 0, 0], [255, 255, 255]]])
    spec = replace(RAW, scale=1 / 255, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 0.2))
    x, _ = preprocess(img, spec)
    # R: (1 - .5)/.5 = 1, (0 - .5)/.5 = -1; G: (0 - .25)/.25 = -1, (1 - .25)/.25 = 3
    assert np.allclose(x[0, 0], [[1, -1], [-1, 1]], atol=1e-6)
    assert np.allclose(x[0, 1], [[-1, 3], [-1, 3]], atol=1e-6)
    assert np.allclose(x[0, 2], [[1.0, 2.0], [0.0, 5.0]], atol=1e-5)  # 51/255/.2 = 1


def test_tflite_normalisation() -> None:
    img = _pixels([[[127, 255, 0]] * 2] * 2)
    x, _ = preprocess(img, replace(PRESETS["tflite"], height=2, width=2, resize="stretch"))
    assert np.allclose(x[0, :, 0, 0], [0.0, 1.0, -127 / 128])


def test_bgr_nhwc_gray_and_dtypes() -> None:
    img = _pixels([[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [100, 110, 120]]])
    x, _ = preprocess(img, replace(RAW, channel_order="BGR", layout="NHWC"))
    assert x.shape == (1, 2, 2, 3)
    assert x[0, 0, 0].tolist() == [30, 20, 10]
    g, _ = preprocess(img, replace(RAW, channel_order="GRAY"))
    assert g.shape == (1, 1, 2, 2)
    # Pillow's L = (R*299 + G*587 + B*114) / 1000
    assert g[0, 0, 0, 0] == round((10 * 299 + 20 * 587 + 30 * 114) / 1000)
    u8, _ = preprocess(img, replace(RAW, dtype="uint8"))
    assert u8.dtype == np.uint8 and u8[0, 1, 1, 1] == 110
    h, _ = preprocess(img, replace(RAW, dtype="float16", scale=1 / 255))
    assert h.dtype == np.float16 and abs(float(h[0, 0, 0, 0]) - 10 / 255) < 1e-3
    i8, _ = preprocess(img, replace(RAW, dtype="int8", mean=(128, 128, 128)))
    assert i8.dtype == np.int8 and i8[0, 0, 0, 0] == 10 - 128


def test_letterbox_pads_and_maps_back() -> None:
    img = Image.new("RGB", (4, 2), (255, 255, 255))
    spec = PreprocessSpec(height=4, width=4, resize="letterbox", pad_value=114)
    x, box = preprocess(img, spec)
    assert x[0, 0, :, 0].tolist() == [114, 255, 255, 114]  # one padded row above and below
    assert box.pad_y == 1 and box.pad_x == 0 and box.scale_x == 1.0
    back = box.to_original(np.array([[0, 1, 4, 3]], np.float32))
    assert back.tolist() == [[0, 0, 4, 2]]
    assert np.allclose(box.to_input(back), [[0, 1, 4, 3]])


def test_letterbox_scales_long_side() -> None:
    img = Image.new("RGB", (100, 50))
    _, box = preprocess(img, PreprocessSpec(height=64, width=64, resize="letterbox"))
    assert (box.input_width, box.input_height) == (64, 64)
    assert box.scale_x == pytest.approx(0.64) and box.pad_y == 16
    assert box.to_original(np.array([0, 16, 64, 48.0])).tolist() == [0, 0, 100, 50]


def test_short_side_crop_without_resize_is_a_center_crop() -> None:
    arr = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    img = Image.fromarray(arr, "RGB")
    spec = PreprocessSpec(height=4, width=4, resize="short_side_crop", resize_short=4)
    x, box = preprocess(img, spec)
    assert np.array_equal(x[0].transpose(1, 2, 0), arr[:, 1:5].astype(np.float32))
    assert box.crop_x == 1 and box.crop_y == 0
    assert box.to_original(np.array([0, 0, 4, 4.0])).tolist() == [1, 0, 5, 4]


def test_short_side_crop_matches_resize_then_crop() -> None:
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (300, 451, 3), dtype=np.uint8), "RGB")
    x, _ = preprocess(img, replace(PRESETS["imagenet"], scale=1.0, mean=(0, 0, 0), std=(1, 1, 1)))
    full = img.resize((int(256 * 451 / 300), 256), Image.Resampling.BILINEAR)
    left = round((full.width - 224) / 2)
    top = round((256 - 224) / 2)
    ref = np.asarray(full.crop((left, top, left + 224, top + 224)), np.float32)
    assert np.abs(x[0].transpose(1, 2, 0) - ref).max() <= 1.0


def test_fit_mode_multiple_and_limit() -> None:
    spec = replace(PRESETS["paddleocr-det"])
    assert target_size((1000, 500), spec) == (736, 384)  # 736 x 368 → round(11.5) = 12 x 32
    assert target_size((384, 191), spec) == (384, 192)
    assert target_size((10, 10), spec) == (32, 32)
    x, box = preprocess(Image.new("RGB", (384, 191)), spec)
    assert x.shape == (1, 3, 192, 384)
    assert box.scale_y == pytest.approx(192 / 191)


def test_preprocess_accepts_arrays() -> None:
    arr = np.full((3, 5, 3), 9, np.uint8)
    x, _ = preprocess(arr, replace(RAW, height=3, width=5))
    assert x.shape == (1, 3, 3, 5) and float(x.max()) == 9
    with pytest.raises(InferenceError):
        preprocess(arr.astype(np.float32), RAW)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_pixels_to_tensor_by_hand_and_into_a_buffer(layout: str, order: str) -> None:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    px = img[:, :, ::-1] if order == "BGR" else img
    spec = replace(PRESETS["imagenet"], height=5, width=7, layout=layout, channel_order=order)
    # by hand, in float64: (p / 255 - mean) / std per channel of the given pixels
    ref = (px / 255.0 - np.array(spec.mean)) / np.array(spec.std)
    ref = ref.transpose(2, 0, 1)[None] if layout == "NCHW" else ref[None]
    x = pixels_to_tensor(px, spec)
    assert x.dtype == np.float32 and x.shape == ref.shape
    assert np.abs(x - ref).max() < 1e-5
    buf = np.full(ref.shape, np.nan, np.float32)
    assert pixels_to_tensor(px, spec, out=buf) is buf
    assert np.array_equal(buf, x)
    with pytest.raises(ValueError, match="float32"):
        pixels_to_tensor(px, spec, out=np.empty(ref.shape, np.float64))
    with pytest.raises(ValueError, match="float32 spec"):
        pixels_to_tensor(px, replace(spec, dtype="float16"), out=buf)


def test_map_to_original_inverts_letterbox() -> None:
    _, box = preprocess(
        Image.new("RGB", (8, 4)), PreprocessSpec(height=8, width=8, resize="letterbox")
    )
    plane = np.zeros((8, 8), np.float32)
    plane[2:6, 0:4] = 1.0  # the image's left half in tensor space
    back = box.map_to_original(plane)
    assert back.shape == (4, 8)
    assert back[:, :3].min() > 0.9 and back[:, 5:].max() < 0.1
    half = box.map_to_original(plane[::2, ::2])  # a stride-2 map covers the same area
    # bilinear: edge rows blend with the padding (0.75), the middle is exact
    assert half.shape == (4, 8) and half[1:3, :3].min() > 0.99 and half[:, :3].min() >= 0.7


# -- specs, presets, guesses ----------------------------------------------------------------


def test_presets_are_valid_and_described() -> None:
    for name, spec in PRESETS.items():
        validate_spec(spec)
        assert spec.preset == name
        assert describe_spec(spec).startswith(name)
    imagenet = PRESETS["imagenet"]
    assert (imagenet.resize_short, imagenet.height, imagenet.mean) == (
        256,
        224,
        (0.485, 0.456, 0.406),
    )
    mtcnn = PRESETS["mtcnn"]
    x, _ = preprocess(Image.new("RGB", (4, 4), (255, 0, 128)), mtcnn)
    assert np.allclose(x[0, :, 0, 0], [(255 - 127.5) * 0.0078125, -127.5 * 0.0078125, 0.00390625])
    assert get_preset("PaddleOCR_det").preset == "paddleocr-det"
    with pytest.raises(InferenceError, match="Unknown preprocessing preset"):
        get_preset("nope")


@pytest.mark.parametrize(
    "change,match",
    [
        ({"resize": "zoom"}, "resize mode"),
        ({"channel_order": "RGBA"}, "channel order"),
        ({"layout": "CHW"}, "layout"),
        ({"dtype": "float64"}, "input type"),
        ({"std": (1.0, 0.0, 1.0)}, "std"),
        ({"mean": (1.0, 2.0)}, "mean"),
        ({"height": 0}, "size"),
        ({"resize": "short_side_crop", "resize_short": 100}, "short side"),
    ],
)
def test_bad_specs_are_named(change: dict[str, object], match: str) -> None:
    with pytest.raises(PreprocessError, match=match):
        validate_spec(replace(PreprocessSpec(), **change))  # type: ignore[arg-type]


def test_spec_from_dict_starts_from_preset() -> None:
    spec = spec_from_dict({"preset": "yolo", "height": 320, "mean": [0, 0, 0]})
    assert spec.resize == "letterbox" and spec.height == 320 and spec.width == 640
    with pytest.raises(PreprocessError, match="Unknown preprocessing setting"):
        spec_from_dict({"heigth": 3})


def test_resolve_spec_takes_static_dims_from_the_tensor() -> None:
    spec = resolve_spec(PRESETS["yolo"], (1, 3, 320, 416), "float16")
    assert (spec.height, spec.width, spec.dtype, spec.layout) == (320, 416, "float16", "NCHW")
    nhwc = resolve_spec(PRESETS["imagenet"], (1, 299, 299, 3))
    assert nhwc.layout == "NHWC" and nhwc.height == 299
    gray = resolve_spec(PRESETS["unit"], ("n", 1, 28, 28))
    assert gray.channel_order == "GRAY" and gray.height == 28
    dynamic = resolve_spec(PRESETS["paddleocr-det"], ("n", 3, "h", "w"))
    assert dynamic.resize == "fit"
    fixed = resolve_spec(PRESETS["paddleocr-det"], (1, 3, 640, 640))
    assert fixed.resize == "stretch" and fixed.height == 640


@dataclass(frozen=True)
class _T:
    name: str
    dtype: str
    shape: tuple[int | str | None, ...] | None


@dataclass(frozen=True)
class _M:
    path: Path
    inputs: tuple[_T, ...]
    outputs: tuple[_T, ...]
    producer_name: str = "pytorch"
    graph_name: str = "main_graph"
    metadata: dict[str, str] = field(default_factory=dict)


def test_guess_for_synthetic_models() -> None:
    yolo = _M(
        Path("detector.onnx"),
        (_T("images", "float32", (1, 3, 640, 640)),),
        (_T("output0", "float32", (1, 84, 8400)),),
    )
    assert guess_preprocess(yolo).preset == "yolo"
    resnet = _M(
        Path("resnet50.onnx"),
        (_T("x", "float32", ("n", 3, 224, 224)),),
        (_T("y", "float32", ("n", 1000)),),
    )
    assert guess_preprocess(resnet).preset == "imagenet"
    tagged = replace(resnet, metadata={"trtgui.preprocess": '{"preset": "tflite", "height": 224}'})
    assert guess_preprocess(tagged).preset == "tflite"
    ultra = _M(
        Path("m.onnx"),
        (_T("x", "float32", (1, 3, "h", "w")),),
        (_T("o", "float32", None),),
        metadata={"stride": "32", "names": "{0: 'a'}", "imgsz": "[480, 512]"},
    )
    spec = guess_preprocess(ultra)
    assert spec.preset == "yolo" and (spec.height, spec.width) == (480, 512)
    nhwc_u8 = _M(
        Path("m.onnx"), (_T("x", "uint8", (1, 192, 192, 3)),), (_T("o", "float32", (1, 5)),)
    )
    spec = guess_preprocess(nhwc_u8)
    assert (spec.layout, spec.dtype, spec.height) == ("NHWC", "uint8", 192)


def test_guess_for_shared_models(shared_models: Path) -> None:
    from trtgui.core.model.onnx_model import inspect_onnx

    onnx_dir = shared_models / "onnx"
    expected = {
        "efficientnet_lite0_dynbatch.onnx": "tflite",
        "ch_PP-OCRv4_det_infer.onnx": "paddleocr-det",
        "ch_ppocr_mobile_v2.0_cls_infer.onnx": "paddleocr-cls",
        "mtcnn_pnet.onnx": "mtcnn",
    }
    for name, preset in expected.items():
        assert guess_preprocess(inspect_onnx(onnx_dir / name)).preset == preset, name


def test_decode_png_bytes_roundtrip() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (1, 2, 3)).save(buf, format="PNG")
    assert decode_image(buf.getvalue()).getpixel((2, 1)) == (1, 2, 3)


def test_one_parser_for_every_preprocess_dict() -> None:
    """--preprocess, demo.json, model metadata and a build settings file's "preprocess" are
    read by one parser: the same type rules, the same error type, named fields."""
    from trtgui.core.build.settings import BuildSettings
    from trtgui.core.errors import SettingsError
    from trtgui.core.imaging import read_spec

    with pytest.raises(PreprocessError, match=r'^height must be an integer, got "224"\.$'):
        spec_from_dict({"height": "224"})
    with pytest.raises(PreprocessError, match="mean must be a list of numbers"):
        spec_from_dict({"mean": "0.5"})
    with pytest.raises(PreprocessError, match="must be a JSON object"):
        spec_from_dict([1, 2])  # type: ignore[arg-type]
    # A settings file names the field under its key; a PreprocessError is a SettingsError.
    with pytest.raises(PreprocessError, match=r"^preprocess\.height must be an integer"):
        BuildSettings.from_dict({"preprocess": {"height": "224"}})
    assert issubclass(PreprocessError, SettingsError)
    # A known preset is the base the other keys change, in a settings file too.
    settings = BuildSettings.from_dict({"preprocess": {"preset": "yolo", "height": 320}})
    assert settings.preprocess == replace(PRESETS["yolo"], height=320)
    # Reading keeps what a file says; judging it is validate_spec's (spec_from_dict does both).
    assert read_spec({"resize": "zoom"}).resize == "zoom"
    with pytest.raises(PreprocessError, match="resize mode"):
        spec_from_dict({"resize": "zoom"})
