"""Uploads made here with Pillow: the Fashion-MNIST look (inverted, cropped, centred), one clear error per bad file."""

from __future__ import annotations

import io
import re
import resource
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from fmnist_lab.analysis import images
from fmnist_lab.analysis.images import ImageError


def encode(img: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def garment_picture(size: tuple[int, int], box: tuple[int, int, int, int], ground: int, garment: int) -> Image.Image:
    """A gray picture of ``size`` (width, height) with a filled rectangle ``box`` (left, top, right, bottom)."""
    pixels = np.full(size[::-1], ground, dtype=np.uint8)  # (height, width)
    left, top, right, bottom = box
    pixels[top:bottom, left:right] = garment
    return Image.fromarray(pixels)


def bounding_box(image: np.ndarray, threshold: int = 64) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the pixels brighter than ``threshold``."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[0], cols[0], rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def png_with_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR is patched to claim ``width``×``height`` (the pixels are never decoded)."""
    data = bytearray(encode(Image.new("L", (1, 1))))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")  # IHDR data starts at byte 16
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # CRC over "IHDR" and its 13 bytes
    return bytes(data)


def rgba_with_alpha(alpha: int) -> Image.Image:
    img = garment_picture((40, 40), (10, 10, 30, 30), ground=255, garment=0).convert("RGBA")
    img.putalpha(Image.fromarray(np.where(np.arange(40) < 20, alpha, 255).astype(np.uint8)[None].repeat(40, 0)))
    return img


def animated_png() -> bytes:
    frames = [Image.new("L", (16, 16), 0), Image.new("L", (16, 16), 255)]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:])


def truncated_png() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, size=(200, 200), dtype=np.uint8)  # incompressible IDAT
    data = encode(Image.fromarray(noise))
    return data[: len(data) // 2]


def palette_with_transparency() -> Image.Image:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([255, 255, 255, 0, 0, 0])
    img.paste(1, (5, 5, 15, 15))
    img.info["transparency"] = 1  # the garment's colour is see-through
    return img


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_dark_garment_on_white_is_inverted_centred_and_scaled(fmt: str) -> None:
    picture = garment_picture((300, 200), (30, 20, 130, 170), ground=255, garment=0)  # 100 wide, 150 tall
    prepared = images.prepare_upload(encode(picture, fmt))
    image = prepared.image
    assert image.shape == (28, 28) and image.dtype == np.uint8
    assert prepared.inverted and prepared.original_size == (300, 200)
    top, left, height, width = bounding_box(image)
    expected_width = round(100 * images.GARMENT_SIDE / 150)  # the longer side fills GARMENT_SIDE
    assert height == images.GARMENT_SIDE and abs(width - expected_width) <= 1
    assert abs((top + height / 2) - 14) <= 1 and abs((left + width / 2) - 14) <= 1
    assert image[:, :left].max(initial=0) <= 8 and image[:, left + width :].max(initial=0) <= 8  # background ~0
    assert image[14, 14] >= 240  # garment bright


def test_light_garment_on_black_is_not_inverted() -> None:
    picture = garment_picture((96, 96), (24, 24, 72, 72), ground=0, garment=200)
    prepared = images.prepare_upload(encode(picture))
    assert not prepared.inverted
    assert prepared.image[14, 14] == 255  # stretched: the brightest pixel becomes 255
    top, left, height, width = bounding_box(prepared.image)
    assert (height, width) == (images.GARMENT_SIDE, images.GARMENT_SIDE)
    margin = (28 - images.GARMENT_SIDE) // 2
    assert prepared.image[:margin].max(initial=0) == 0 and prepared.image[:, :margin].max(initial=0) == 0


def test_exact_scale_reproduces_the_rectangle() -> None:
    """A 56×28 light rectangle on black halves exactly to 28×14: an all-255 block, centred, zeros elsewhere."""
    assert images.GARMENT_SIDE == 28
    picture = garment_picture((100, 100), (22, 36, 78, 64), ground=0, garment=255)
    expected = np.zeros((28, 28), dtype=np.uint8)
    expected[7:21, 0:28] = 255
    np.testing.assert_array_equal(images.prepare_upload(encode(picture)).image, expected)


@pytest.mark.parametrize(("width", "height"), [(150, 30), (30, 90), (200, 100)])
def test_aspect_ratio_is_kept(width: int, height: int) -> None:
    picture = garment_picture((320, 320), (10, 10, 10 + width, 10 + height), ground=255, garment=30)
    _, _, out_height, out_width = bounding_box(images.prepare_upload(encode(picture)).image)
    assert max(out_height, out_width) == images.GARMENT_SIDE
    assert out_width / out_height == pytest.approx(width / height, rel=0.15)


def test_exif_orientation_is_applied() -> None:
    picture = garment_picture((200, 120), (20, 40, 180, 80), ground=255, garment=0)  # wide as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    _, _, height, width = bounding_box(images.prepare_upload(encode(picture, "JPEG", exif=exif)).image)
    assert height == images.GARMENT_SIDE and width < height / 2  # upright, it is tall


def test_opaque_alpha_and_unused_transparency_are_accepted() -> None:
    plain = images.prepare_upload(encode(rgba_with_alpha(255).convert("RGB"))).image
    np.testing.assert_array_equal(images.prepare_upload(encode(rgba_with_alpha(255))).image, plain)
    palette = palette_with_transparency()
    palette.info["transparency"] = 7  # a palette entry no pixel uses
    assert images.prepare_upload(encode(palette)).inverted


def test_a_phone_jpeg_with_extra_pictures_uses_the_first() -> None:
    photo = garment_picture((64, 64), (16, 16, 48, 48), ground=255, garment=0).convert("RGB")
    data = encode(photo, "MPO", save_all=True, append_images=[Image.new("RGB", (64, 64), (255, 255, 255))])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert images.prepare_upload(data).image[14, 14] >= 240


def test_a_featureless_picture_gives_an_empty_canvas() -> None:
    image = images.prepare_upload(encode(Image.new("L", (50, 30), 255))).image
    assert image.shape == (28, 28) and image.max() == 0


BAD_UPLOADS = {
    "empty": (b"", "The file is empty"),
    "random bytes": (np.random.default_rng(1).bytes(2000), "not a picture the lab recognises"),
    "text": (b"These are my holiday notes, not a picture.\n" * 20, "not a picture the lab recognises"),
    "truncated PNG": (truncated_png(), "is damaged or not an image"),
    "over the byte limit": (bytes(images.MAX_UPLOAD_BYTES + 1), "the limit is 2 MB"),
    "30000×30000 header (Pillow bomb error)": (png_with_size(30_000, 30_000), "more than the lab accepts"),
    "10000×10000 header (Pillow bomb warning)": (png_with_size(10_000, 10_000), "more than the lab accepts"),
    "side over MAX_SIDE": (png_with_size(9_000, 10), "more than the lab accepts"),
    "over MAX_PIXELS": (png_with_size(6_000, 5_000), "more than the lab accepts"),
    "animated PNG": (animated_png(), "is animated (2 frames)"),
    "16-bit PNG": (encode(Image.fromarray(np.full((20, 20), 40_000, dtype=np.uint16))), "save it as an 8-bit PNG"),
    "RGBA with transparent pixels": (encode(rgba_with_alpha(0)), "has transparency"),
    "half-transparent LA": (encode(rgba_with_alpha(128).convert("LA")), "has transparency"),
    "palette with a transparent colour": (encode(palette_with_transparency()), "has transparency"),
    "GIF": (encode(Image.new("L", (20, 20), 255), "GIF"), "This is a GIF picture; the lab reads PNG and JPEG only"),
    "BMP": (encode(Image.new("RGB", (20, 20)), "BMP"), "This is a BMP picture; the lab reads PNG and JPEG only"),
    "WEBP": (encode(Image.new("RGB", (20, 20)), "WEBP"), "This is a WEBP picture; the lab reads PNG and JPEG only"),
    "TIFF": (encode(Image.new("L", (20, 20)), "TIFF"), "This is a TIFF picture; the lab reads PNG and JPEG only"),
}


@pytest.mark.parametrize(("data", "fragment"), list(BAD_UPLOADS.values()), ids=list(BAD_UPLOADS))
def test_each_bad_upload_gets_its_own_message(data: bytes, fragment: str) -> None:
    with pytest.raises(ImageError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        images.prepare_upload(data)


def test_messages_say_what_to_do() -> None:
    for data, _ in BAD_UPLOADS.values():
        with pytest.raises(ImageError) as caught:
            images.prepare_upload(data)
        message = str(caught.value)
        assert ": " in message and any(verb in message for verb in ("upload", "save", "shrink")), message


def test_byte_limit_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("Image.open was called on an oversized upload")

    monkeypatch.setattr(Image, "open", must_not_decode)
    big_png = encode(Image.new("L", (1, 1))) + bytes(images.MAX_UPLOAD_BYTES)
    with pytest.raises(ImageError, match="the limit is 2 MB"):
        images.prepare_upload(big_png)


def test_dimensions_are_checked_before_the_pixels_are_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_load(self: Image.Image) -> None:
        raise AssertionError("pixels were decoded for an oversized picture")

    data = png_with_size(6_000, 5_000)
    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_load)
    with pytest.raises(ImageError, match="6,000×5,000 pixels"):
        images.prepare_upload(data)


def test_image_error_is_a_value_error() -> None:
    assert issubclass(ImageError, ValueError)


SEEDS = [
    encode(garment_picture((40, 30), (5, 5, 30, 25), 255, 0)),
    encode(garment_picture((32, 32), (4, 4, 28, 28), 0, 200), "JPEG"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 10_000),
)
def test_fuzzed_uploads_give_an_image_or_an_image_error(seed: bytes, flips: list, cut: int) -> None:
    """Mutated real files (flipped bytes, cut short): never any exception but ImageError."""
    data = bytearray(seed)
    for position, value in flips:
        data[position % len(data)] = value
    try:
        image = images.prepare_upload(bytes(data[: max(cut, 1)])).image
    except ImageError as exc:
        assert str(exc)
    else:
        assert image.shape == (28, 28) and image.dtype == np.uint8


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_give_an_image_error(data: bytes) -> None:
    with pytest.raises(ImageError):
        images.prepare_upload(data)


def scan_segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each SOS segment with its entropy-coded data, walked independently of ``count_scans``."""
    segments, pos = [], 2
    while data[pos + 1] != 0xD9:
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos + 1] == 0xDA:
            end = re.compile(rb"\xff[^\x00\xd0-\xd7]").search(data, end).start()  # type: ignore[union-attr]
            segments.append((pos, end))
        pos = end
    return segments


def progressive_bomb(extra_scans: int = 29_000) -> bytes:
    """The review's bomb: a 5000×5000 grey progressive JPEG with thousands of nearly empty scans.

    Pillow writes a progressive JPEG of a flat picture, whose last scan (an AC refinement) is only
    end-of-band runs, about 40 bytes; copies of it are valid scans that each make libjpeg visit all
    390,625 blocks (about 3-20 ms a scan, so minutes for 29,000 of them).
    """
    plain = encode(Image.new("L", (5000, 5000), 128), "JPEG", progressive=True)
    start, end = scan_segments(plain)[-1]
    return plain[:end] + plain[start:end] * extra_scans + plain[end:]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_the_progressive_bomb_passes_the_header_checks_but_is_refused_by_its_scan_count() -> None:
    bomb = progressive_bomb()
    assert len(bomb) <= images.MAX_UPLOAD_BYTES
    assert len(scan_segments(bomb)) == images.count_scans(bomb) == 29_006  # Pillow's 6 scans and the copies
    images.open_checked(bomb, max_scans=None)  # size, pixels, frames, depth: all fine
    cpu = time.process_time()
    with pytest.raises(ImageError, match="more than 64 passes"):
        images.prepare_upload(bomb)
    with pytest.raises(ImageError, match="more than 64 passes"):
        images.prepare_upload_budgeted(bomb)
    assert time.process_time() - cpu < 2.0  # refused before any pixel is decoded


def test_the_scan_count_of_ordinary_jpegs_is_under_the_limit() -> None:
    picture = garment_picture((640, 480), (100, 100, 400, 300), ground=255, garment=0).convert("RGB")
    for options in ({}, {"progressive": True}, {"progressive": True, "quality": 100, "subsampling": 0}):
        data = encode(picture, "JPEG", **options)
        assert images.count_scans(data) == len(scan_segments(data)) <= images.MAX_SCANS
    assert images.count_scans(encode(picture, "JPEG")) == 1


def test_an_unknown_bomb_is_given_up_by_the_childs_cpu_budget() -> None:
    """With the scan check off, the child decoding the bomb is stopped by its own CPU limit."""
    bomb = progressive_bomb(extra_scans=3_000)
    before = children_cpu()
    with pytest.raises(ImageError, match="takes too long to decode"):
        images.prepare_upload_budgeted(bomb, cpu_seconds=1, max_scans=None)
    assert children_cpu() - before < 2.0  # the child's CPU, as the kernel counted it


def test_a_large_legitimate_png_decodes_in_the_child_as_in_process() -> None:
    pixels = np.full((5000, 5000), 255, dtype=np.uint8)  # 25 megapixels, the most the lab accepts
    pixels[1000:4000, 1500:3500] = 20
    data = encode(Image.fromarray(pixels))
    here, there = images.prepare_upload(data), images.prepare_upload_budgeted(data)
    np.testing.assert_array_equal(there.image, here.image)
    assert (there.inverted, there.original_size) == (True, (5000, 5000))
    with pytest.raises(ImageError, match="not a picture the lab recognises"):
        images.prepare_upload_budgeted(b"not a picture")
