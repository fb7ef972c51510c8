"""The photo step and, where the card prints one, the signature step."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence

from flask import abort, request, url_for
from flask.typing import ResponseReturnValue
from PIL import Image, ImageChops
from werkzeug.wrappers import Response

from .. import messages as msg
from ..context import config, kiosk_session, translate
from ..ports import PhotoRejected
from ..validation import InputError
from .pages import (
    FieldError,
    bp,
    guard,
    invalidate_approval,
    next_url,
    page,
    reason_text,
    see_other,
)

MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIGNATURE_PIXELS = 4_000_000  # the signature pad is far smaller; more is not a drawing
# The least ink that is a signature: a stroke of about 40 px with the pad's 5 px pen (a tap
# leaves some 20 px), spanning at least 40 px. More than half the box inked is no drawing.
MIN_INK_PIXELS = 200
MIN_INK_EXTENT = 40
MAX_INK_SHARE = 0.5

# ---------------------------------------------------------------------------------------------
# photo


def photo_page(errors: Sequence[str | FieldError] = (), status: int = 200) -> ResponseReturnValue:
    enrolment = kiosk_session().enrolment
    return page(
        "photo.html",
        "photo",
        errors=[e if isinstance(e, FieldError) else FieldError("photo", translate(e)) for e in errors],
        status=status,
        has_photo=enrolment.photo_jpeg is not None,
        optional=not config().program.photo_required,
        max_mb=config().max_upload_bytes // (1024 * 1024),
    )


@bp.route("/photo", methods=["GET", "POST"])
def photo() -> ResponseReturnValue:
    if (redirect_to := guard("photo")) is not None:
        return redirect_to
    enrolment = kiosk_session().enrolment
    if request.method == "GET":
        return photo_page()
    if request.form.get("action") == "use" and enrolment.photo_jpeg is not None:
        enrolment.completed.add("photo")
        return see_other(next_url())
    if request.form.get("action") == "skip" and not config().program.photo_required:
        if enrolment.photo_jpeg is not None:
            invalidate_approval(enrolment)  # the attendant approved a card with that photo
        enrolment.photo = enrolment.photo_jpeg = None
        enrolment.completed.add("photo")
        return see_other(next_url())
    if request.form.get("action") == "retake":
        enrolment.photo = enrolment.photo_jpeg = None
        enrolment.completed.discard("photo")
        invalidate_approval(enrolment)
        return see_other(url_for("kiosk.photo"))
    upload = request.files.get("photo")
    data = upload.read(config().max_upload_bytes + 1) if upload is not None else b""
    if upload is not None:
        upload.close()
    if not data:
        return photo_page([msg.NO_PHOTO], 422)
    if len(data) > config().max_upload_bytes:
        return photo_page([msg.PHOTO_TOO_BIG], 413)
    try:
        prepared = config().photos.prepare(config().program, data)
    except PhotoRejected as exc:
        return photo_page([FieldError("photo", reason_text(exc.reason))], 422)
    finally:
        del data
    enrolment.photo, enrolment.photo_jpeg = prepared, prepared.jpeg
    enrolment.completed.discard("photo")
    invalidate_approval(enrolment)  # a new photo: the attendant looks at it
    return see_other(url_for("kiosk.photo"))


@bp.get("/photo/preview.jpg")
def photo_preview() -> ResponseReturnValue:
    jpeg = kiosk_session().enrolment.photo_jpeg
    if jpeg is None or kiosk_session().finished:
        abort(404)
    return Response(jpeg, mimetype="image/jpeg")


# ---------------------------------------------------------------------------------------------
# signature


def read_signature(data_url: str) -> bytes:
    """The PNG inside a canvas data URL, checked to hold some ink; InputError otherwise."""
    prefix = "data:image/png;base64,"
    if not data_url:
        raise InputError(msg.NO_SIGNATURE)
    if not data_url.startswith(prefix) or len(data_url) > MAX_SIGNATURE_BYTES * 4 // 3 + 64:
        raise InputError(msg.BAD_SIGNATURE)
    try:
        png = base64.b64decode(data_url[len(prefix) :], validate=True)
    except binascii.Error:
        raise InputError(msg.BAD_SIGNATURE) from None
    try:
        with Image.open(io.BytesIO(png), formats=("PNG",)) as img:
            # The size comes from the header: nothing is decoded before this check.
            if img.width * img.height > MAX_SIGNATURE_PIXELS:
                raise InputError(msg.BAD_SIGNATURE)
            ink = _ink(img)
    except InputError:
        raise
    except Exception:
        # Pillow raises many types on hostile input, all "not a signature" (as kiosk.photo
        # treats a photo): DecompressionBombError from open() itself, before the size check
        # above, for a header over twice Image.MAX_IMAGE_PIXELS; SyntaxError for a broken
        # chunk; OSError, ValueError, ...
        raise InputError(msg.BAD_SIGNATURE) from None
    pixels, extent, share = ink
    if share > MAX_INK_SHARE:
        raise InputError(msg.BAD_SIGNATURE)  # a filled box (a crafted upload), not a drawing
    if pixels < MIN_INK_PIXELS or extent < MIN_INK_EXTENT:
        raise InputError(msg.NO_SIGNATURE)  # a tap or a speck: nobody signed
    return png


def _ink(img: Image.Image) -> tuple[int, int, float]:
    """(inked pixels, the longer side of their bounding box, their share of the image).

    Ink is what prints dark on the card: opaque and dark. So a transparent pad drawn in black
    (the kiosk's canvas) and an opaque white page with black strokes both count their strokes
    only; an opaque white image has none, an opaque black one is all ink."""
    la = img.convert("LA")
    dark = la.getchannel("L").point(lambda v: 255 if v < 128 else 0)
    opaque = la.getchannel("A").point(lambda v: 255 if v >= 128 else 0)
    mask = ImageChops.multiply(dark, opaque)
    pixels = mask.histogram()[255]
    box = mask.getbbox()
    extent = max(box[2] - box[0], box[3] - box[1]) if box else 0
    return pixels, extent, pixels / max(1, img.width * img.height)


@bp.route("/signature", methods=["GET", "POST"])
def signature() -> ResponseReturnValue:
    if (redirect_to := guard("signature")) is not None:
        return redirect_to
    enrolment = kiosk_session().enrolment
    if request.method == "POST":
        before = enrolment.signature_png
        if request.form.get("no_signature") == "yes":
            enrolment.signature_png, enrolment.no_signature = None, True
        else:
            try:
                png = read_signature(request.form.get("signature", ""))
            except InputError as exc:
                return page(
                    "signature.html",
                    "signature",
                    errors=[FieldError("signature-pad", translate(exc.message))],
                    status=422,
                    has_signature=False,
                )
            enrolment.signature_png, enrolment.no_signature = png, False
        if enrolment.signature_png != before:
            invalidate_approval(enrolment)  # the attendant sees the signature with the photo
        enrolment.completed.add("signature")
        return see_other(next_url())
    return page("signature.html", "signature", has_signature=enrolment.signature_png is not None)


@bp.get("/signature/preview.png")
def signature_preview() -> ResponseReturnValue:
    png = kiosk_session().enrolment.signature_png
    if png is None or kiosk_session().finished:
        abort(404)
    return Response(png, mimetype="image/png")


