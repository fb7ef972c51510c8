"""PWG Raster (PWG 5102.4) encoder: the raster format every driverless IPP printer accepts.

A stream is the sync word "RaS2", then per page a 1796-byte big-endian header and the page's
pixels compressed line by line: a line-repeat byte, then runs of repeated pixels (a count
byte 0..127 = 1..128 copies of the next pixel) or literal pixels (a count byte 129..255 =
257 - n pixels follow); 128 would clear the rest of the line (not written by this encoder).
Only sRGB 8-bit (`srgb_8`) and sGray 8-bit (`sgray_8`) are written.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from PIL import Image

__all__ = ["PWG_HEADER_SIZE", "PWG_SYNC", "decode_pwg_raster", "encode_pwg_raster"]

PWG_SYNC = b"RaS2"
PWG_HEADER_SIZE = 1796
_CSPACE = {"srgb_8": (19, 3, "RGB"), "sgray_8": (18, 1, "L")}


def _header(width: int, height: int, dpi: int, color: str, total: int, page_size: str) -> bytes:
    cspace, colors, _mode = _CSPACE[color]
    h = bytearray(PWG_HEADER_SIZE)
    h[0:9] = b"PwgRaster"
    name = page_size.encode("ascii")[:63]
    h[1732 : 1732 + len(name)] = name
    points = (round(width * 72 / dpi), round(height * 72 / dpi))

    def u32(offset: int, value: int) -> None:
        struct.pack_into(">I", h, offset, value)

    u32(276, dpi)  # HWResolution
    u32(280, dpi)
    u32(352, points[0])  # PageSize in points
    u32(356, points[1])
    u32(372, width)  # cupsWidth
    u32(376, height)  # cupsHeight
    u32(384, 8)  # cupsBitsPerColor
    u32(388, 8 * colors)  # cupsBitsPerPixel
    u32(392, width * colors)  # cupsBytesPerLine
    u32(396, 0)  # cupsColorOrder: chunky
    u32(400, cspace)  # cupsColorSpace
    u32(420, colors)  # cupsNumColors
    u32(452, total)  # cupsInteger[0]: TotalPageCount
    u32(456, 1)  # CrossFeedTransform
    u32(460, 1)  # FeedTransform
    u32(480, 0x00FFFFFF)  # AlternatePrimary
    return bytes(h)


def _encode_line(line: bytes, bpp: int) -> bytes:
    out = bytearray()
    pixels = [line[i : i + bpp] for i in range(0, len(line), bpp)]
    n = len(pixels)
    i = 0
    while i < n:
        j = i + 1
        while j < n and j - i < 128 and pixels[j] == pixels[i]:
            j += 1
        if j - i > 1:
            out.append(j - i - 1)
            out += pixels[i]
            i = j
            continue
        # literal run: until two equal neighbours start a repeat, at most 128 pixels
        j = i + 1
        while j < n and j - i < 128 and not (j + 1 < n and pixels[j] == pixels[j + 1]):
            j += 1
        count = j - i
        if count == 1:
            out.append(0)
        else:
            out.append(257 - count)
        out += b"".join(pixels[i:j])
        i = j
    return bytes(out)


def encode_pwg_raster(
    pages: Sequence[Image.Image],
    dpi: int = 300,
    color: str = "srgb_8",
    page_size: str = "iso_id-1_85.6x53.98mm",
) -> bytes:
    """Encode the pages (any size) as one PWG raster stream."""
    if color not in _CSPACE:
        raise ValueError(f"unsupported PWG raster type {color!r}")
    _cs, bpp, mode = _CSPACE[color]
    out = bytearray(PWG_SYNC)
    for page in pages:
        img = page.convert(mode)
        width, height = img.size
        out += _header(width, height, dpi, color, len(pages), page_size)
        raw = img.tobytes()
        stride = width * bpp
        y = 0
        while y < height:
            line = raw[y * stride : (y + 1) * stride]
            repeat = 1
            while y + repeat < height and repeat < 256 and raw[(y + repeat) * stride : (y + repeat + 1) * stride] == line:
                repeat += 1
            out.append(repeat - 1)
            out += _encode_line(line, bpp)
            y += repeat
    return bytes(out)


def decode_pwg_raster(data: bytes) -> list[Image.Image]:
    """Decode a stream written by `encode_pwg_raster` (sRGB/sGray 8-bit), for tests and tools."""
    if not data.startswith(PWG_SYNC):
        raise ValueError("not a PWG raster stream")
    pos = 4
    pages: list[Image.Image] = []
    while pos < len(data):
        header = data[pos : pos + PWG_HEADER_SIZE]
        pos += PWG_HEADER_SIZE
        width, height = struct.unpack_from(">II", header, 372)
        bits, = struct.unpack_from(">I", header, 388)
        bpp = bits // 8
        mode = {3: "RGB", 1: "L"}[bpp]
        stride = width * bpp
        rows = bytearray()
        y = 0
        while y < height:
            repeat = data[pos] + 1
            pos += 1
            line = bytearray()
            while len(line) < stride:
                count = data[pos]
                pos += 1
                if count == 128:
                    line += b"\xff" * (stride - len(line))
                elif count < 128:
                    line += data[pos : pos + bpp] * (count + 1)
                    pos += bpp
                else:
                    n = (257 - count) * bpp
                    line += data[pos : pos + n]
                    pos += n
            rows += bytes(line) * repeat
            y += repeat
        pages.append(Image.frombytes(mode, (width, height), bytes(rows)))
    return pages
