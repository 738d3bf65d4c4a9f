"""`run global-blog --upload FILE` with images a visitor may well pick: small ones, long and thin
ones, drawings that compress well. Each valid image gives a green run; an image already within the
thumbnail size is left as it is, and the check says so."""
from __future__ import annotations

import io
import json
import random

import pytest
from PIL import Image, ImageDraw

from app.cli import main


def _image(size: tuple[int, int], fmt: str, **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(out, fmt, **save)
    return out.getvalue()


def _line_drawing(side: int) -> bytes:
    """Black lines on white, saved at a low JPEG quality: its thumbnail (anti-aliased, quality 75)
    takes more bytes than the original, though it has fewer pixels."""
    rnd = random.Random(1)
    img = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        draw.line([(rnd.randrange(side), rnd.randrange(side)) for _ in range(2)], fill="black")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=30)
    return out.getvalue()


def _run(capsys, path) -> tuple[int, dict, dict]:
    code = main(["run", "global-blog", "--upload", str(path), "--json"])
    out = json.loads(capsys.readouterr().out)
    return code, out, {c["name"]: c for c in out["checks"]}


@pytest.mark.slow
@pytest.mark.parametrize("name, data", [("small.png", _image((40, 30), "PNG")),
                                        ("line.png", _image((50, 1), "PNG")),
                                        ("column.png", _image((1, 50), "PNG")),
                                        ("small.jpg", _image((64, 48), "JPEG", quality=90)),
                                        ("edge.png", _image((200, 7), "PNG"))], ids=lambda v: v if isinstance(v, str) else "")
def test_an_image_within_the_thumbnail_size_is_left_as_it_is(capsys, tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    code, out, checks = _run(capsys, path)
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and out["ok"] and not failed, failed
    width, height = Image.open(io.BytesIO(data)).size
    check = checks["an image within 200 px is left as it is"]
    assert check["detail"] == f"already {width}x{height}, within 200 px: left as it is, the same {len(data)} bytes"
    assert "thumbnail's longest side is 200 px, aspect kept" not in checks
    thumb = out["artifacts"]["thumbnail"]["thumbnail"]
    assert (thumb["width"], thumb["height"]) == (width, height) and thumb["bytes"] == len(data)


@pytest.mark.slow
@pytest.mark.parametrize("name, data, made", [("banner.png", _image((4000, 80), "PNG"), (200, 4)),
                                              ("mast.png", _image((80, 4000), "PNG"), (4, 200)),
                                              ("drawing.jpg", _line_drawing(201), (200, 200))],
                         ids=("4000x80", "80x4000", "drawing"))
def test_a_long_thin_image_or_a_drawing_is_resized_and_the_run_is_green(capsys, tmp_path, name, data, made):
    path = tmp_path / name
    path.write_bytes(data)
    code, out, checks = _run(capsys, path)
    failed = [c for c in out["checks"] if not c["ok"]]
    assert code == 0 and out["ok"] and not failed, failed
    thumb = out["artifacts"]["thumbnail"]["thumbnail"]
    assert (thumb["width"], thumb["height"]) == made
    assert f"-> {made[0]}x{made[1]} (expected {made[0]}x{made[1]})" in \
        checks["thumbnail's longest side is 200 px, aspect kept"]["detail"]


def test_an_image_too_thin_to_show_is_refused_before_anything_runs(capsys, tmp_path):
    path = tmp_path / "hair.png"
    path.write_bytes(_image((4000, 1), "PNG"))
    code = main(["run", "global-blog", "--upload", str(path), "--json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "4000x1 pixels: its longest side may be at most 50 times its shortest" in captured.err
    assert "Nothing was stored and nothing ran" in captured.err
