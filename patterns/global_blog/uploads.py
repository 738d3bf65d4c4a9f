"""Checking an image before it is stored: the first thing the thumbnail pipeline does.

An upload is refused, with a message naming what is accepted, when it is empty,
larger than the size limit, an SVG drawing (a vector format that can carry scripts),
not an image Pillow can read, in a format the thumbnail function does not handle,
named with another format's extension, larger than the pixel limit or than the memory
bound once decoded (guards against decompression bombs, sized for a demo that many
people share), so long and thin that it cannot be shown, an animation of more frames
than the limit, or when its data cannot be decoded in full (the reason is given).
Nothing is written anywhere before this passes.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from app.core.uploads import UploadRejected as _Rejected
from app.core.uploads import size_text

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 16_000_000                    # a 16-megapixel photo; more only costs a shared server memory
MAX_DECODED_BYTES = 64 * 1024 * 1024       # the decoded first frame (pixels x bytes per pixel)
MAX_ASPECT = 50                            # longest side at most 50 times the shortest, so it can be shown
MAX_FRAMES = 100                           # an animation's frames; the thumbnail is made from the first
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "GIF": (".gif",), "WEBP": (".webp",)}
_SVG = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+svg[^>]*>\s*)?<svg[\s>]",
                  re.IGNORECASE | re.DOTALL)
SAMPLE_IMAGE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "mountain-lake.png"


class UploadRejected(_Rejected):
    """The upload cannot be used; the message says why and what is accepted."""


@dataclass(frozen=True)
class ImageUpload:
    name: str
    data: bytes
    format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    def describe(self) -> dict:
        return {"name": self.name, "format": self.format, "content_type": self.content_type,
                "width": self.width, "height": self.height, "bytes": self.size_bytes}


def _human(n: int) -> str:
    return size_text(n)


def accepted_text(max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    return f"{', '.join(FORMATS)} images up to {_human(max_bytes)}"


def validate_image(data: bytes, name: str = "upload", max_bytes: int = MAX_UPLOAD_BYTES) -> ImageUpload:
    """The checked upload, or UploadRejected with a clear message."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise UploadRejected(f"{name} is empty: upload {accepted_text(max_bytes)}.")
    if len(data) > max_bytes:
        raise UploadRejected(f"{name} is {_human(len(data))}, over the {_human(max_bytes)} limit: "
                             f"upload {accepted_text(max_bytes)}.")
    if _SVG.match(data[:4096]) or (b"<svg" in data[:4096].lower() and name.lower().endswith((".svg", ".svgz"))):
        raise UploadRejected(f"{name} is an SVG drawing, a vector format that can carry scripts and links, "
                             f"and is not accepted: upload {accepted_text(max_bytes)}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format, img.size
                _check_size(name, width, height, img.mode)
                frames = getattr(img, "n_frames", 1)         # counted from the frame headers, not decoded
                if frames > MAX_FRAMES:
                    raise UploadRejected(f"{name} is an animation of {frames:,} frames, over the limit of "
                                         f"{MAX_FRAMES}: upload a still image or a shorter animation.")
                img.load()                   # decode it all now: what cannot be decoded is refused here
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise UploadRejected(f"{name} is {size}, over the limit of {MAX_PIXELS // 1_000_000} megapixels.") from None
    except UnidentifiedImageError:
        raise UploadRejected(f"{name} is not an image that can be read: upload {accepted_text(max_bytes)}.") from None
    except Exception as exc:  # truncated or corrupt data fails while decoding, with various errors
        raise UploadRejected(f"{name} is damaged and cannot be decoded ({type(exc).__name__}: {exc}): "
                             f"upload {accepted_text(max_bytes)}.") from None
    if fmt not in FORMATS:
        raise UploadRejected(f"{name} is a {fmt} image: upload {accepted_text(max_bytes)}.")
    if not name.lower().endswith(EXTENSIONS[fmt]):
        suffix = Path(name).suffix
        raise UploadRejected(f"{name} is a {fmt} image, but its name "
                             + (f"ends in {suffix}" if suffix else "has no extension")
                             + f": name it {' or '.join(EXTENSIONS[fmt])}, so that it is stored and served as what "
                               "it is.")
    return ImageUpload(name=name, data=bytes(data), format=fmt, width=width, height=height)


def _check_size(name: str, width: int, height: int, mode: str) -> None:
    """Refuse, before decoding, what would take too much memory or could not be shown."""
    from PIL import Image

    if width < 1 or height < 1:
        raise UploadRejected(f"{name} is {width}x{height} pixels: an image has at least one pixel each way.")
    if width * height > MAX_PIXELS:
        raise UploadRejected(f"{name} is {width}x{height} pixels, over the limit of "
                             f"{MAX_PIXELS // 1_000_000} megapixels.")
    try:
        bits = Image.getmodebands(mode) * (16 if mode.startswith("I;16") else 32 if mode in ("I", "F") else 8)
    except (KeyError, ValueError):
        bits = 32
    decoded = width * height * bits // 8
    if decoded > MAX_DECODED_BYTES:
        raise UploadRejected(f"{name} is {width}x{height} pixels in {mode}, {_human(decoded)} once decoded, over "
                             f"the limit of {_human(MAX_DECODED_BYTES)}: upload a smaller image.")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise UploadRejected(f"{name} is {width}x{height} pixels: its longest side may be at most {MAX_ASPECT} "
                             "times its shortest, so that it and its thumbnail can be shown.")


def sample_image() -> ImageUpload:
    """The picture shipped with the app (assets/samples/), already checked."""
    return validate_image(SAMPLE_IMAGE.read_bytes(), SAMPLE_IMAGE.name)
