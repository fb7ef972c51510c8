"""Evolis panel bitmaps: the card side as the printer's Y, M, C, K and overlay panels.

A panel is 1016 x 648 pixels (the card at 300 dpi with a little overscan), sent as 648-pixel
lines (the card rotated a quarter turn), 1016 lines, packed MSB first: 1 bit per pixel for 2
levels (k, o: 1 = lay the panel down), 5 bits per pixel for 32 levels (y, m, c). A YMCKO
ribbon prints the front in colour (y, m, c, black text on k, overlay o) and the back in black
(k, dithered).
"""

from __future__ import annotations

from PIL import Image

__all__ = ["BITMAP_LINES", "BITMAP_LINE_PIXELS", "bitmap_size", "pack_panel", "panels_for", "unpack_panel"]

BITMAP_LINES = 1016  # along the card's long edge
BITMAP_LINE_PIXELS = 648  # along its short edge
_BITS = {2: 1, 32: 5, 64: 6, 128: 7, 256: 8}


def bitmap_size(levels: int) -> int:
    """Bytes of one panel bitmap with `levels` levels (2 -> 82296, 32 -> 411480)."""
    return BITMAP_LINES * BITMAP_LINE_PIXELS * _BITS[levels] // 8


def _or_all(parts: list[bytes], size: int) -> bytes:
    acc = 0
    for part in parts:
        acc |= int.from_bytes(part, "big")
    return acc.to_bytes(size, "big")


def pack_panel(values: bytes, levels: int) -> bytes:
    """Pack one value per pixel (0..levels-1, in line order) MSB first into the panel bytes.

    Groups of 8 pixels make `bits` bytes; each (pixel, byte) pair is one bytes.translate, so
    a panel packs in milliseconds rather than a Python loop per pixel.
    """
    bits = _BITS[levels]
    count = BITMAP_LINES * BITMAP_LINE_PIXELS
    if len(values) != count:
        raise ValueError("a panel has 1016 lines of 648 pixels")
    if bits == 8:
        return bytes(values)
    if bits == 1:
        return Image.frombytes("L", (BITMAP_LINE_PIXELS, BITMAP_LINES), bytes(values)).point(
            lambda v: 255 if v else 0
        ).convert("1", dither=Image.Dither.NONE).tobytes()
    groups = count // 8
    width = 8 * bits
    mask = (1 << bits) - 1
    out = bytearray(groups * bits)
    for k in range(bits):
        parts = []
        for j in range(8):
            shift = width - bits * (j + 1)
            lo, hi = width - 8 * (k + 1), width - 8 * k
            if shift + bits <= lo or shift >= hi:
                continue  # pixel j has no bits in byte k
            table = bytes((((v & mask) << shift) >> lo) & 0xFF for v in range(256))
            parts.append(values[j::8].translate(table))
        out[k::bits] = _or_all(parts, groups)
    return bytes(out)


def unpack_panel(data: bytes, levels: int) -> bytes:
    """The inverse of `pack_panel`: one value per pixel."""
    bits = _BITS[levels]
    count = BITMAP_LINES * BITMAP_LINE_PIXELS
    if bits == 8:
        return bytes(data[:count])
    if bits == 1:
        img = Image.frombytes("1", (BITMAP_LINE_PIXELS, BITMAP_LINES), bytes(data))
        return img.convert("L").point(lambda v: 1 if v else 0).tobytes()
    groups = count // 8
    width = 8 * bits
    mask = (1 << bits) - 1
    data = bytes(data[: groups * bits]).ljust(groups * bits, b"\x00")
    out = bytearray(count)
    for j in range(8):
        shift = width - bits * (j + 1)
        parts = []
        for k in range(bits):
            lo, hi = width - 8 * (k + 1), width - 8 * k
            if shift + bits <= lo or shift >= hi:
                continue
            table = bytes((((b << lo) >> shift) & mask) for b in range(256))
            parts.append(data[k::bits].translate(table))
        out[j::8] = _or_all(parts, groups)
    return bytes(out)


def _to_panel_geometry(img: Image.Image) -> Image.Image:
    """The card side, covering 1016 x 648 (centre crop), turned so that lines are 648 px."""
    from PIL import ImageOps

    fitted = ImageOps.fit(img.convert("RGB"), (BITMAP_LINES, BITMAP_LINE_PIXELS), Image.Resampling.LANCZOS)
    return fitted.transpose(Image.Transpose.ROTATE_270)


def panels_for(front: Image.Image, back: Image.Image | None) -> list[tuple[str, str, int, bytes]]:
    """(side, panel, levels, packed bytes) for a YMCKO ribbon: colour front, black back."""
    f = _to_panel_geometry(front)
    r, g, b = f.split()
    black = Image.eval(f.convert("L"), lambda v: 1 if v < 60 else 0)
    out: list[tuple[str, str, int, bytes]] = []
    for name, channel in (("y", b), ("m", g), ("c", r)):
        levels = channel.point(lambda v: (255 - v) * 31 // 255).tobytes()
        out.append(("front", name, 32, pack_panel(levels, 32)))
    out.append(("front", "k", 2, pack_panel(black.tobytes(), 2)))
    out.append(("front", "o", 2, pack_panel(b"\x01" * (BITMAP_LINES * BITMAP_LINE_PIXELS), 2)))
    if back is not None:
        bk = _to_panel_geometry(back).convert("L").convert("1")  # Floyd-Steinberg dither
        ink = bk.convert("L").point(lambda v: 0 if v else 1).tobytes()
        out.append(("back", "k", 2, pack_panel(ink, 2)))
    return out
