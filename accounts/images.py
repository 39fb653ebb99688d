"""Profile image hardening: only small, real JPEG/PNG/WebP images, decoded and re-encoded without metadata."""

import io
import struct
import warnings

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4096
# Pillow's detected format → (file suffix, save options). The upload's name and content type are never trusted.
# PNG is written with zlib level 3 and without `optimize`: optimize tries every filter and level and cost ~2.5 s
# of CPU for a 4096×4096 upload (a cheap denial of service per profile PATCH); level 3 takes ~0.4 s.
FORMATS = {
    "JPEG": (".jpg", {"quality": 90}),
    "PNG": (".png", {"compress_level": 3}),
    "WEBP": (".webp", {"quality": 90}),
}
# Camera JPEGs often carry a multi-picture (MPO) index; Pillow reports them as MPO. They are JPEGs and are
# re-encoded as a plain single-frame JPEG.
ALIASES = {"MPO": "JPEG"}
# Only these decoders ever see an upload: exotic formats are never parsed (MPO is opened by the JPEG one).
DECODERS = list(FORMATS)
NOT_ACCEPTED = "Upload a JPEG, PNG or WebP image."
# Decoder failures Pillow may raise on hostile or broken input.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError,
                  struct.error, Image.DecompressionBombError, Image.DecompressionBombWarning)


class InvalidImage(ValueError):
    """The upload is not an acceptable image; the message is safe to show to the client."""


def sanitize_image(upload) -> ContentFile:
    """Validate an uploaded file and return a re-encoded copy named only by its real format.

    Raises InvalidImage for anything that is not a JPEG, PNG or WebP image of at most 2 MiB and
    4096×4096 pixels, including truncated or corrupted files.
    """
    size = getattr(upload, "size", None)
    if size is None or size > MAX_BYTES:
        raise InvalidImage("The image must be at most 2 MiB.")
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise InvalidImage("The image must be at most 2 MiB.")
    if not raw:
        raise InvalidImage("The file is empty.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(raw), formats=DECODERS) as probe:
                fmt = ALIASES.get(probe.format, probe.format)
                if fmt not in FORMATS:
                    raise InvalidImage(NOT_ACCEPTED)
                width, height = probe.size  # from the header, before any pixel is decoded
                if width > MAX_SIDE or height > MAX_SIDE or width < 1 or height < 1:
                    raise InvalidImage(f"The image must be at most {MAX_SIDE}×{MAX_SIDE} pixels.")
                probe.verify()
            with Image.open(io.BytesIO(raw), formats=DECODERS) as image:
                if ALIASES.get(image.format, image.format) != fmt:
                    raise InvalidImage(NOT_ACCEPTED)
                image.load()
                # Apply the EXIF orientation to the pixels, since the EXIF block itself is dropped below.
                clean = ImageOps.exif_transpose(image) or image.copy()
        except InvalidImage:
            raise
        except UnidentifiedImageError as exc:
            raise InvalidImage(NOT_ACCEPTED) from exc
        except _DECODE_ERRORS as exc:
            raise InvalidImage("The file is not a valid JPEG, PNG or WebP image (corrupted or truncated).") from exc
    suffix, options = FORMATS[fmt]
    # Keep only what rendering needs; EXIF, XMP, ICC, text chunks and comments are dropped.
    clean.info = {k: v for k, v in clean.info.items() if k in ("transparency",)}
    out = io.BytesIO()
    try:
        clean.save(out, format=fmt, **options)
    except _DECODE_ERRORS as exc:
        raise InvalidImage("The image could not be re-encoded.") from exc
    result = ContentFile(out.getvalue(), name=f"image{suffix}")
    result.sanitized = True
    return result

