"""Hostile files given to MyBlog.com's thumbnail run, on the Run page and with `run global-blog --upload`:
each is refused with a message that says why, nothing is stored, and the session (or the next command)
still runs an honest image afterwards."""
from __future__ import annotations

import io
import json
import os
import struct
import zlib

import pytest
from PIL import Image

from patterns.global_blog.uploads import MAX_FRAMES, MAX_UPLOAD_BYTES, SAMPLE_IMAGE, UploadRejected, validate_image
from tests.runpage import open_run_page, press_run
from tests.test_cli_errors import cli, one_error_line


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pixel_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG of a few hundred bytes whose header claims ``width`` x ``height`` pixels (beyond Pillow's own limit)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 1024, 9)) + _chunk(b"IEND", b""))


def jpeg(size=(320, 240), color=(200, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def noise_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def animated_gif(frames: int) -> bytes:
    images = []
    for i in range(frames):          # each frame differs from the one before, so none is merged away
        frame = Image.new("RGB", (16, 16), (i % 256, (i * 7) % 256, 90))
        frame.putpixel((i % 16, (i // 16) % 16), (255, 255, 255))
        images.append(frame)
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=20, loop=0)
    return out.getvalue()


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')

# name, content, what the message says
HOSTILE = [
    ("notes.txt", b"just some text, not a picture", "not an image that can be read"),
    ("cut.png", SAMPLE_IMAGE.read_bytes()[:6000], "damaged and cannot be decoded"),
    ("cut.jpg", jpeg((800, 600))[:1500], "damaged and cannot be decoded"),
    ("bomb.png", pixel_bomb(), "10,000,000,000 pixels, over the limit of 16 megapixels"),
    ("huge.png", None, "over the 5.0 MB limit"),
    ("holiday.png", jpeg(), "is a JPEG image, but its name ends in .png: name it .jpg or .jpeg"),
    ("holiday", jpeg(), "has no extension"),
    ("logo.svg", SVG, "is an SVG drawing"),
    ("logo.png", SVG, "is an SVG drawing"),
    ("spinner.gif", None, f"frames, over the limit of {MAX_FRAMES}"),
    ("empty.png", b"", "is empty"),
]


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> list[tuple[str, bytes, str]]:
    made = {"huge.png": noise_png(1400), "spinner.gif": animated_gif(MAX_FRAMES * 3)}
    files = [(name, made.get(name, data), says) for name, data, says in HOSTILE]
    assert len(made["huge.png"]) > MAX_UPLOAD_BYTES
    folder = tmp_path_factory.mktemp("hostile")
    for name, data, _ in files:
        (folder / name).write_bytes(data)
    return [(str(folder / name), data, says) for name, data, says in files]


def test_each_hostile_file_is_refused_by_the_check_with_its_reason(hostile_files):
    for path, data, says in hostile_files:
        name = os.path.basename(path)
        with pytest.raises(UploadRejected) as refused:
            validate_image(data, name)
        assert says in str(refused.value) and name in str(refused.value), (name, str(refused.value))


def test_what_the_checks_let_through_is_still_accepted():
    for name, data in (("photo.JPEG", jpeg()), ("photo.jpg", jpeg()), ("short.gif", animated_gif(MAX_FRAMES)),
                       (SAMPLE_IMAGE.name, SAMPLE_IMAGE.read_bytes())):
        assert validate_image(data, name).name == name


@pytest.mark.parametrize("index", range(len(HOSTILE)), ids=[h[0] for h in HOSTILE])
def test_the_command_line_refuses_a_hostile_upload_and_runs_nothing(hostile_files, index):
    path, _, says = hostile_files[index]
    r = cli("run", "global-blog", "--upload", path, "--json")
    assert r.returncode == 2, r.stderr
    line = one_error_line(r)
    assert says in line and "Nothing was stored and nothing ran" in line
    assert r.stdout == ""                     # no run, no account, no trace


def test_the_command_line_refuses_an_upload_a_case_does_not_take_and_a_missing_file(tmp_path):
    image = tmp_path / "photo.jpg"
    image.write_bytes(jpeg())
    r = cli("run", "todo-api", "--upload", str(image))
    line = one_error_line(r)
    assert r.returncode == 2 and "todo-api takes no --upload: global-blog takes an image for the thumbnail" in line
    assert "iot-analytics takes a device message" in line
    r = cli("run", "global-blog", "--upload", str(tmp_path / "missing.jpg"))
    assert r.returncode == 2 and "No such file or directory" in one_error_line(r)


@pytest.mark.slow
def test_the_command_line_runs_an_honest_upload_and_thumbnails_it(tmp_path):
    image = tmp_path / "harbour.jpg"
    data = jpeg((640, 480), (30, 90, 160))
    image.write_bytes(data)
    r = cli("run", "global-blog", "--upload", str(image), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    upload, thumb = out["artifacts"]["upload"], out["artifacts"]["thumbnail"]
    assert upload["bytes"] == len(data) and upload["content_type"] == "image/jpeg"
    assert upload["request"].endswith("-harbour.jpg") and upload["status"] == 200
    assert {k: thumb["original"][k] for k in ("name", "width", "height", "bytes")} == {
        "name": "harbour.jpg", "width": 640, "height": 480, "bytes": len(data)}
    assert (thumb["thumbnail"]["width"], thumb["thumbnail"]["height"]) == (200, 150)
    assert all(c["ok"] for c in out["checks"])


@pytest.mark.slow
def test_the_run_page_refuses_each_hostile_upload_and_then_runs_an_honest_one(hostile_files):
    at = open_run_page("global-blog")
    for path, data, says in hostile_files:
        name = os.path.basename(path)
        at.file_uploader(key="run:blog:upload").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, name
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and says in errors[0].replace("\\", ""), (name, errors)
        assert "Nothing was stored; the run uses the sample image." in errors[0]
        assert not at.success
    # the same session still works: an honest upload is accepted and the run thumbnails it
    at.file_uploader(key="run:blog:upload").set_value(("harbour.jpg", jpeg((640, 480)), "image/jpeg")).run()
    assert not at.error and any("640x480" in s.value for s in at.success)
    passed, total = press_run(at)
    assert passed == total
    captions = " ".join(c for i in at.image for c in i.captions)
    assert "Original 640x480" in captions and "Thumbnail 200x150" in captions
