"""Images on the card: the photo, the signature, the arms or logo, and the QR code.

Arms: a programme's arms are SVG (or PNG). An SVG is rasterised by resvg (the `resvg-py`
wheel: no system library to install) at the size the card draws it, with the Noto fonts the
card's text uses, so its lettering looks the same on every kiosk; the raster is cached in
memory only (keyed on the file's path, modification time and size), never written anywhere.

QR code: error-correction level M, alphanumeric mode, quiet zone 4 modules, and a module of at
least 3 px (0.254 mm) at 300 dpi; the largest whole-pixel module that fits is used.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.util
from PIL import Image, ImageOps, UnidentifiedImageError

from .card_design import CardLayoutError
from .fonts import face_for

__all__ = [
    "MIN_QR_MODULE_PX",
    "QR_QUIET_MODULES",
    "arms_image",
    "contain",
    "cover",
    "open_image",
    "qr_image",
    "qr_matrix",
]

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


def arms_image(path: Path, box: tuple[int, int]) -> Image.Image:
    """The arms or logo at `path` (SVG or PNG) scaled to fit inside `box`, transparent where
    the image is; CardLayoutError when the file cannot be read or drawn."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise CardLayoutError(
            f"The arms or logo image {path} cannot be read; fix the path in the programme profile."
        ) from exc
    if path.suffix.lower() == ".svg":
        png = _svg_png(str(path), stat.st_mtime_ns, stat.st_size, box)
        return open_image(png, "arms or logo image", "fix the SVG file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CardLayoutError(
            f"The arms or logo image {path} cannot be read; fix the path in the programme profile."
        ) from exc
    return contain(open_image(data, "arms or logo image", "use an SVG or PNG file."), box)


@lru_cache(maxsize=32)
def _svg_png(path: str, _mtime_ns: int, _size: int, box: tuple[int, int]) -> bytes:
    """An SVG drawn by resvg to fit `box` (a PNG in memory). The mtime and size are in the key
    so an edited file is drawn again."""
    import resvg_py  # the kiosk extra's; imported here so a PNG-only card does not need it

    try:
        svg = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CardLayoutError(
            f"The arms image {path} cannot be read as SVG text; fix the file or use a PNG."
        ) from exc
    width, height = _svg_fit(svg, box)
    regular, bold = face_for("A", False), face_for("A", True)
    try:
        return bytes(
            resvg_py.svg_to_bytes(
                svg_string=svg,
                width=width,
                height=height,
                skip_system_fonts=True,  # the same letters on every kiosk
                font_files=[str(regular.path), str(bold.path)],
                font_family="Noto Sans",
                sans_serif_family="Noto Sans",
                serif_family="Noto Sans",
                resources_dir=str(Path(path).parent),
            )
        )
    except ValueError as exc:
        raise CardLayoutError(
            f"The arms image {path} is not an SVG the card can draw ({exc}); fix the file or "
            "use a PNG."
        ) from exc


def _svg_fit(svg: str, box: tuple[int, int]) -> tuple[int | None, int | None]:
    """The render size that fits the SVG's aspect ratio inside `box`: the width or the
    height (resvg keeps the ratio when only one is given)."""
    import resvg_py

    try:
        probe = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg, skip_system_fonts=True))))
    except (ValueError, UnidentifiedImageError, OSError):
        return box[0], None  # resvg says what is wrong when it draws
    w, h = probe.size
    if w * box[1] >= h * box[0]:
        return box[0], None
    return None, box[1]


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR modules of `text` (level M, alphanumeric mode, smallest version), no quiet zone."""
    return [list(row) for row in _qr_modules(text)]


@lru_cache(maxsize=16)
def _qr_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """`qr_matrix`, made once per text: checking that a card fits lays it out a dozen times
    beside the same stand-in QR codes, and choosing a QR mask costs ~45 ms."""
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
    return tuple(tuple(bool(cell) for cell in row) for row in qr.get_matrix())


def qr_image(text: str, box: int) -> Image.Image:
    """The QR code of `text` with its quiet zone, the largest whole-pixel module within `box`."""
    matrix = _qr_modules(text)
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
