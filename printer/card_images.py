"""Images on the card: the photo, the signature, the arms or logo, and the QR code.

QR code: error-correction level M, alphanumeric mode, quiet zone 4 modules, and a module of at
least 3 px (0.254 mm) at 300 dpi; the largest whole-pixel module that fits is used.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.util
from PIL import Image, ImageOps, UnidentifiedImageError

from .card_design import CardLayoutError

__all__ = ["MIN_QR_MODULE_PX", "QR_QUIET_MODULES", "contain", "cover", "open_image", "qr_image", "qr_matrix"]

MIN_QR_MODULE_PX = 3  # 0.254 mm at 300 dpi
QR_QUIET_MODULES = 4


def open_image(data: bytes, what: str, fix: str) -> Image.Image:
    """A decoded image, upright (EXIF orientation applied); CardLayoutError says `fix`."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CardLayoutError(f"The {what} is not a readable image; {fix}") from exc
    return ImageOps.exif_transpose(img)


def cover(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`img` filling `size`, cropped around a point a little above the centre (a face)."""
    return ImageOps.fit(img.convert("RGB"), size, Image.Resampling.LANCZOS, centering=(0.5, 0.4))


def contain(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`img` scaled to fit inside `size`, keeping its transparency."""
    return ImageOps.contain(img.convert("RGBA"), size, Image.Resampling.LANCZOS)


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR modules of `text` (level M, alphanumeric mode, smallest version), no quiet zone."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    try:
        data = qrcode.util.QRData(text, mode=qrcode.util.MODE_ALPHA_NUM)
    except (ValueError, TypeError) as exc:
        raise CardLayoutError(
            "The QR text is not a citycard print credential (CC1: and base45 characters only)."
        ) from exc
    qr.add_data(data)
    try:
        qr.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError) as exc:
        raise CardLayoutError("The QR text is too long for a QR code.") from exc
    return [[bool(cell) for cell in row] for row in qr.get_matrix()]


def qr_image(text: str, box: int) -> Image.Image:
    """The QR code of `text` with its quiet zone, the largest whole-pixel module within `box`."""
    matrix = qr_matrix(text)
    n = len(matrix)
    module = box // (n + 2 * QR_QUIET_MODULES)
    if module < MIN_QR_MODULE_PX:
        raise CardLayoutError(
            f"The QR code (version {(n - 17) // 4}) does not fit on the card with modules of at "
            f"least {MIN_QR_MODULE_PX} px; the print credential is too long."
        )
    side = (n + 2 * QR_QUIET_MODULES) * module
    img = Image.new("1", (n, n), 1)
    px = img.load()
    assert px is not None
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                px[x, y] = 0
    scaled = img.resize((n * module, n * module), Image.Resampling.NEAREST)
    out = Image.new("RGB", (side, side), (255, 255, 255))
    out.paste(scaled.convert("RGB"), (QR_QUIET_MODULES * module, QR_QUIET_MODULES * module))
    return out
