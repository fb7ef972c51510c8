"""An image of the paper a decoded ESC/POS job would come out as, for people to look at."""

from __future__ import annotations

from PIL import Image

from .escpos_decode import Cut, Decoded, LineFeed, QrCode, Raster, TextRun

__all__ = ["preview"]


def preview(decoded: Decoded, dots: int = 576) -> Image.Image:
    """An image of the paper: text in a 12 x 24 monospace font, rasters as they print."""
    from PIL import ImageDraw, ImageFont

    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 20
        )
    except OSError:
        font = ImageFont.load_default()
    strips: list[Image.Image] = []
    line: list[TextRun] = []

    def flush_line() -> None:
        height = 24 * max([r.height for r in line] or [1])
        strip = Image.new("L", (dots, height), 255)
        draw = ImageDraw.Draw(strip)
        width = sum(12 * r.width * len(r.text) for r in line)
        align = line[0].align if line else "left"
        x = {"left": 0, "center": (dots - width) // 2, "right": dots - width}[align]
        for run in line:
            for ch in run.text:
                glyph = Image.new("L", (12, 24), 255)
                ImageDraw.Draw(glyph).text((0, 0), ch, font=font, fill=0)
                glyph = glyph.resize((12 * run.width, 24 * run.height))
                strip.paste(glyph, (x, height - 24 * run.height))
                x += 12 * run.width
        del draw
        strips.append(strip)
        line.clear()

    for item in decoded.items:
        if isinstance(item, TextRun):
            line.append(item)
        elif isinstance(item, LineFeed):
            flush_line()
            for _ in range(item.count - 1):
                strips.append(Image.new("L", (dots, 24), 255))
        elif isinstance(item, Raster):
            if line:
                flush_line()
            img = item.to_image()
            x = {"left": 0, "center": (dots - img.width) // 2, "right": dots - img.width}[
                item.align
            ]
            strip = Image.new("L", (dots, img.height), 255)
            strip.paste(img, (max(0, x), 0))
            strips.append(strip)
        elif isinstance(item, QrCode):
            import qrcode

            qr = qrcode.QRCode(border=4, box_size=item.module_size)
            qr.add_data(item.data)
            qr.make(fit=True)
            img = qr.make_image().get_image().convert("L")
            strip = Image.new("L", (dots, img.height), 255)
            strip.paste(img, ((dots - img.width) // 2, 0))
            strips.append(strip)
        elif isinstance(item, Cut):
            strip = Image.new("L", (dots, 12), 255)
            ImageDraw.Draw(strip).line((0, 6, dots, 6), fill=128)
            strips.append(strip)
    if line:
        flush_line()
    height = sum(s.height for s in strips) or 1
    page = Image.new("L", (dots, height), 255)
    y = 0
    for strip in strips:
        page.paste(strip, (0, y))
        y += strip.height
    return page

