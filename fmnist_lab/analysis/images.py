"""A learner's own picture, turned into the model's input: 28×28 uint8, garment bright on black.

Each step is a check a bad upload can fail, with a message the learner can act on:
1. size: at most ``MAX_UPLOAD_BYTES``, checked before any decoding;
2. header (Pillow opens lazily, so no pixel is decoded yet): PNG or JPEG, at most ``MAX_SIDE``
   pixels a side and ``MAX_PIXELS`` in all, a single frame, 8 bits per channel, and a JPEG has at
   most ``MAX_SCANS`` scans (each scan of a progressive JPEG makes the decoder visit every block:
   a 2 MB file of 29,000 nearly empty scans takes minutes of CPU);
3. pixels: decoded, turned upright by the EXIF orientation, no transparency, then gray;
4. the Fashion-MNIST look: a light background is inverted to black and levelled to 0, the garment
   is cropped to its bounding box, scaled so its longer side is ``GARMENT_SIDE`` pixels, centred,
   and stretched so its brightest pixel is 255 (as in most of the data set's images).

Transparent pictures are refused rather than composited onto a background: the colour chosen
(white or black) would decide whether the garment comes out bright or dark, and the hidden
pixels of a cut-out can hold anything. A fully opaque alpha channel is simply dropped.

``prepare_upload_budgeted`` runs all of this in a child process under a CPU limit
(``RLIMIT_CPU``) and a wall-clock timeout, so a decoding bomb nobody has thought of yet costs the
server at most ``DECODE_CPU_SECONDS`` of CPU.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import signal
import struct
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # 2 MB
MAX_SIDE = 8000  # pixels, either side
MAX_PIXELS = 25_000_000  # 25 megapixels: any phone photo, and far below Pillow's bomb warning (89)
MAX_SCANS = 64  # a progressive JPEG has about 10; libjpeg's own hardening guide suggests a limit of 100
DECODE_CPU_SECONDS = 2  # the child's CPU limit: a 25-megapixel PNG takes about 0.9 s, start-up included
DECODE_WALL_SECONDS = 30  # the child's wall-clock limit, for a busy machine
FORMATS = ("PNG", "JPEG", "MPO")  # Pillow's names; MPO is a phone's JPEG carrying a depth map or preview
DEEP_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # 16-bit, 32-bit and float pixels
SIDE = 28  # the model's input, pixels a side
GARMENT_SIDE = 28  # Fashion-MNIST garments fill the frame: 98% of training images touch two opposite edges
LIGHT = 127  # a border brighter than this (0-255) means a light background: invert
STANDS_OUT = 32  # a garment pixel is at least this much brighter than the background (0-255)
# What Pillow's own ``Image.open`` takes for a bad file, plus decoder errors
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)


class ImageError(ValueError):
    """The upload cannot be used; the message says why and what to do, for the learner as-is."""


@dataclass(frozen=True, eq=False)
class Prepared:
    """An upload ready for the model, and what was done to it."""

    image: np.ndarray  # (28, 28) uint8, 0 = background
    inverted: bool  # the background was light, so the gray levels were flipped
    original_size: tuple[int, int]  # (width, height) in pixels, as uploaded


def prepare_upload(data: bytes, max_scans: int | None = MAX_SCANS) -> Prepared:
    """Check, decode and reshape an uploaded PNG or JPEG; raises ``ImageError``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's hints about formats it lacks: our messages say more
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = open_checked(data, max_scans)
        original_size = img.size
        gray = np.asarray(decode(img))  # (height, width) uint8
    inverted = border_level(gray) > LIGHT
    if inverted:
        gray = 255 - gray
    garment = crop_to_garment(gray, border_level(gray))
    return Prepared(fit(garment), inverted, original_size)


def open_checked(data: bytes, max_scans: int | None = MAX_SCANS) -> ImageFile.ImageFile:
    """Open ``data`` and check everything the header tells, before any pixel is decoded."""
    if not data:
        raise ImageError("The file is empty: upload a PNG or JPEG picture.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(
            f"The file is too big ({len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES // 2**20} MB): "
            "save a smaller copy of the picture (fewer pixels, or as JPEG) and upload that."
        )
    try:
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(f"over {(Image.MAX_IMAGE_PIXELS or 0) // 1_000_000} megapixels") from None
    except Image.UnidentifiedImageError:
        raise ImageError("The file is not a picture the lab recognises: upload a PNG or JPEG picture.") from None
    except DECODE_ERRORS as exc:
        raise _damaged() from exc
    check_header(img)
    if img.format in ("JPEG", "MPO") and max_scans is not None and count_scans(data) > max_scans:
        raise ImageError(
            f"The JPEG is stored in more than {max_scans} passes (scans), far more than a camera or editor "
            "writes, and would take minutes to decode: save it again as a plain JPEG or PNG and upload that."
        )
    return img


_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # ends a scan's data: not a stuffed 0xff00, a restart or fill


def count_scans(data: bytes) -> int:
    """How many scans (SOS segments) the first picture of a JPEG file has; damaged files stop the count early."""
    scans, pos = 0, 2  # after the SOI marker
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xD9:  # up to EOI
        if data[pos + 1] == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")  # the segment's length counts itself
        if data[pos + 1] == 0xDA:  # SOS: its header, then entropy-coded data up to the next marker
            scans += 1
            found = _MARKER.search(data, end)
            end = found.start() if found else len(data)
        pos = end
    return scans


def check_header(img: ImageFile.ImageFile) -> None:
    """Format, dimensions, frames and bit depth, all known from the header."""
    if img.format not in FORMATS:
        raise ImageError(
            f"This is a {img.format} picture; the lab reads PNG and JPEG only: "
            "save it as PNG or JPEG and upload it again."
        )
    width, height = img.size
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise _too_many_pixels(f"{width:,}×{height:,} pixels")
    frames = getattr(img, "n_frames", 1)
    if img.format != "MPO" and frames > 1:  # an MPO's first frame is the photo
        raise ImageError(f"The picture is animated ({frames} frames): upload a single still picture (PNG or JPEG).")
    if img.mode in DEEP_MODES:
        raise ImageError(
            f"The picture has more than 8 bits per channel (Pillow mode {img.mode}): "
            "save it as an 8-bit PNG or as a JPEG and upload it again."
        )


def decode(img: ImageFile.ImageFile) -> Image.Image:
    """The pixels, upright and gray, mode "L"."""
    try:
        img.load()
        upright = ImageOps.exif_transpose(img)
    except DECODE_ERRORS as exc:
        raise _damaged() from exc
    if upright.has_transparency_data:
        upright = upright.convert("RGBA")
        if upright.getchannel("A").getextrema()[0] < 255:  # type: ignore[operator]  # one band: (min, max) ints
            raise ImageError(
                "The picture has transparency: save it with a plain background (JPEG or PNG without alpha)."
            )
    return upright.convert("L")


def _too_many_pixels(size: str) -> ImageError:
    return ImageError(
        f"The picture is {size}, more than the lab accepts (at most {MAX_SIDE:,} pixels a side and "
        f"{MAX_PIXELS // 1_000_000} megapixels in all): shrink it and upload it again."
    )


def _damaged() -> ImageError:
    return ImageError("The file is damaged or not an image (it could not be decoded): save it again or try another.")


def border_level(gray: np.ndarray) -> float:
    """The background's brightness (0-255): the median of the outermost ring of pixels."""
    ring = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return float(np.median(ring))


def crop_to_garment(gray: np.ndarray, background: float) -> np.ndarray:
    """The garment's bounding box with the background levelled to 0, float32; all of it if nothing stands out."""
    levelled = np.clip(gray.astype(np.float32) - np.float32(background), 0, 255)  # (height, width)
    mask = levelled > STANDS_OUT
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return levelled
    return levelled[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit(garment: np.ndarray) -> np.ndarray:
    """Scale the longer side to ``GARMENT_SIDE``, keep the aspect ratio, centre on black: (28, 28) uint8."""
    height, width = garment.shape
    scale = GARMENT_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # (width, height), Pillow's order
    small = np.asarray(Image.fromarray(garment).resize(size, Image.Resampling.LANCZOS))  # mode "F"
    small = np.clip(small, 0, 255)  # Lanczos overshoots at sharp edges
    if small.max() > 0:
        small = small * (255 / small.max())
    canvas = np.zeros((SIDE, SIDE), dtype=np.uint8)
    top, left = (SIDE - size[1]) // 2, (SIDE - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = np.round(small).astype(np.uint8)
    return canvas


def prepare_upload_budgeted(
    data: bytes, cpu_seconds: int = DECODE_CPU_SECONDS, max_scans: int | None = MAX_SCANS
) -> Prepared:
    """``prepare_upload`` in a child process limited to ``cpu_seconds`` of CPU; raises ``ImageError``."""
    open_checked(data, max_scans)  # the cheap checks here, so their messages need no child
    command = [sys.executable, "-m", __name__, str(cpu_seconds), str(max_scans or 0)]
    package_root = str(Path(__file__).resolve().parents[2])  # this checkout, whatever is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=DECODE_WALL_SECONDS, env=env)
    except subprocess.TimeoutExpired:
        raise _too_slow() from None
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise _too_slow()
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise _damaged() from None
    if "error" in answer:
        raise ImageError(answer["error"])
    image = np.frombuffer(bytes.fromhex(answer["image"]), dtype=np.uint8).reshape(SIDE, SIDE)
    return Prepared(image, bool(answer["inverted"]), tuple(answer["size"]))


def _too_slow() -> ImageError:
    return ImageError(
        "The picture takes too long to decode (it is built to be slow, or damaged): "
        "save it again as a plain PNG or JPEG and upload that."
    )


def _child(cpu_seconds: int, max_scans: int) -> None:
    """The child's side: limit its own CPU, read the upload on stdin, answer one JSON line on stdout."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # SIGXCPU, then SIGKILL
    try:
        prepared = prepare_upload(sys.stdin.buffer.read(), max_scans or None)
    except ImageError as exc:
        print(json.dumps({"error": str(exc)}))
        return
    answer = {"image": prepared.image.tobytes().hex(), "inverted": prepared.inverted, "size": prepared.original_size}
    print(json.dumps(answer))


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
