"""Re-encoding the largest accepted image stays cheap (regression: PNG `optimize=True` cost ~2.5 s of CPU)."""

import io
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from accounts.images import MAX_BYTES, MAX_SIDE, sanitize_image

BOUND_SECONDS = 1.5  # generous: the re-encode itself takes ~0.4 s, with optimize it took ~2.5 s


def largest_png() -> bytes:
    image = Image.new("RGB", (MAX_SIDE, MAX_SIDE), "white")
    draw = ImageDraw.Draw(image)
    for x in range(0, MAX_SIDE, 16):  # lines, so the encoder has real work (a blank image is free)
        draw.line([(x, 0), (MAX_SIDE - x, MAX_SIDE)], fill=(x % 256, 80, 160), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert len(out.getvalue()) <= MAX_BYTES
    return out.getvalue()


def test_a_4096_square_png_is_re_encoded_well_under_the_bound():
    raw = largest_png()
    started = time.process_time()
    clean = sanitize_image(SimpleUploadedFile("big.png", raw, content_type="image/png"))
    elapsed = time.process_time() - started
    assert clean.name == "image.png"
    with Image.open(io.BytesIO(clean.read())) as result:
        assert result.size == (MAX_SIDE, MAX_SIDE)
    assert elapsed < BOUND_SECONDS, f"re-encoding took {elapsed:.2f} s of CPU"
