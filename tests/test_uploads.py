"""The upload check of MyBlog.com's thumbnail run: what passes can be decoded, stored and shown,
within a memory bound sized for a shared demo; what does not is refused with its reason."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from patterns.global_blog.handlers import make_thumbnail
from patterns.global_blog.uploads import MAX_ASPECT, UploadRejected, validate_image


def png(width: int, height: int, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


def with_corrupt_pixels(data: bytes) -> bytes:
    """The PNG with its compressed pixel data damaged, every chunk checksum still valid."""
    pos, out = 8, [data[:8]]
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IDAT":
            body = body[:2] + bytes(b ^ 0x5A for b in body[2:])
        out.append(struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", zlib.crc32(kind + body)))
        pos += 12 + length
    return b"".join(out)


def test_a_small_file_of_many_pixels_is_refused_before_it_is_decoded():
    data = png(6320, 6320)                       # about 150 KB, 160 MB once decoded
    assert len(data) < 400_000
    with pytest.raises(UploadRejected, match=r"6320x6320 pixels, over the limit of 16 megapixels"):
        validate_image(data, "wide.png")


def test_a_decompression_bomb_gets_the_pixel_limit_message():
    with pytest.raises(UploadRejected, match=r"900,000,000 pixels, over the limit of 16 megapixels"):
        validate_image(png(30000, 30000, "1"), "bomb.png")


def test_valid_checksums_over_corrupt_data_are_refused_with_the_reason():
    data = with_corrupt_pixels(png(400, 300, "RGB"))
    with Image.open(io.BytesIO(data)) as img:
        img.verify()                             # the old check passed this file
    with pytest.raises(UploadRejected, match=r"damaged and cannot be decoded \(.+\)") as refused:
        validate_image(data, "broken.png")
    assert "broken.png" in str(refused.value)


@pytest.mark.parametrize("size", [(60000, 1), (1, 60000), (MAX_ASPECT * 10 + 1, 10)])
def test_an_image_too_thin_to_show_is_refused(size):
    with pytest.raises(UploadRejected, match="longest side may be at most"):
        validate_image(png(*size), "thin.png")


@pytest.mark.parametrize("size", [(MAX_ASPECT * 10, 10), (4000, 4000), (1, 1)])
def test_what_passes_can_be_decoded_thumbnailed_and_shown(size):
    image = validate_image(png(*size), "ok.png")
    assert (image.width, image.height) == size
    for side in (64, 200, 400):
        data, info = make_thumbnail(image.data, side)
        assert info["width"] >= 1 and info["height"] >= 1
        shown_height = image.height * min(520, image.width) // image.width   # as the Run page shows it
        assert shown_height >= 1 and Image.open(io.BytesIO(data)).size == (info["width"], info["height"])
