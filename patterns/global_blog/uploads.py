"""Checking an image before it is stored: the first thing the thumbnail pipeline does.

An upload is refused, with a message naming what is accepted, when it is empty,
larger than the size limit, not an image Pillow can read, in a format the
thumbnail function does not handle, or larger than the pixel limit (a guard
against decompression bombs). Nothing is written anywhere before this passes.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
SAMPLE_IMAGE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "mountain-lake.png"


class UploadRejected(ValueError):
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
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format, img.size
                if width * height > MAX_PIXELS:
                    raise UploadRejected(f"{name} is {width}x{height} pixels, over the limit of "
                                         f"{MAX_PIXELS // 1_000_000} megapixels.")
                img.verify()
    except UploadRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRejected(f"{name} is not an image that can be read: upload {accepted_text(max_bytes)}.") from None
    except Exception as exc:  # truncated or corrupt files fail in verify() with various errors
        raise UploadRejected(f"{name} is damaged or not an image ({type(exc).__name__}): "
                             f"upload {accepted_text(max_bytes)}.") from None
    if fmt not in FORMATS:
        raise UploadRejected(f"{name} is a {fmt} image: upload {accepted_text(max_bytes)}.")
    return ImageUpload(name=name, data=bytes(data), format=fmt, width=width, height=height)


def sample_image() -> ImageUpload:
    """The picture shipped with the app (assets/samples/), already checked."""
    return validate_image(SAMPLE_IMAGE.read_bytes(), SAMPLE_IMAGE.name)
