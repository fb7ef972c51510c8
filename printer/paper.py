"""Paper width profiles for ESC/POS receipt printers (58 mm and 80 mm rolls).

A profile says how wide the printable area is (text columns of the printer's Font A and raster
dots), which ESC/POS code pages the printer has (name as in python-escpos' capability database,
and the `ESC t n` number the printer uses for it), and whether it has the native QR command
(`GS ( k`) and a cutter. Text whose characters fit one of the code pages is sent as text; any
other script is drawn with a font and sent as a raster image (see `printer.document`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "CP857",
    "CP866",
    "CP1251",
    "CP1254",
    "LATIN_CODE_PAGES",
    "PAPER_58MM",
    "PAPER_80MM",
    "PaperProfile",
]

# Epson numbering (ESC t n), which most ESC/POS printers follow for these pages.
LATIN_CODE_PAGES: tuple[tuple[str, int], ...] = (("CP437", 0), ("CP858", 19), ("CP1252", 16))
CP866 = ("CP866", 17)
CP1251 = ("CP1251", 46)
CP857 = ("CP857", 13)  # Turkish (DOS): ğ, ş, ı, İ
CP1254 = ("CP1254", 48)  # Turkish (Windows)


@dataclass(frozen=True)
class PaperProfile:
    """The printable area and abilities of one receipt printer with one paper roll."""

    name: str
    width_mm: int
    dots: int  # printable width in dots; a multiple of 8
    columns: int  # characters per line in Font A (12 x 24 dots)
    dpi: int = 203
    code_pages: tuple[tuple[str, int], ...] = LATIN_CODE_PAGES
    native_qr: bool = True
    cutter: bool = True
    margin: int = 8  # side margin of raster images, in dots
    feed_lines: int = 4  # blank lines fed before the cut (clears the tear bar / cutter)
    features: dict[str, bool] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.dots <= 0 or self.dots % 8:
            raise ValueError("The printable width in dots must be a positive multiple of 8.")
        if self.columns < 16:
            raise ValueError("A receipt printer has at least 16 text columns.")

    def with_code_pages(self, *pages: tuple[str, int]) -> PaperProfile:
        """The same profile with more code pages, e.g. `PAPER_80MM.with_code_pages(CP1251)`."""
        known = {name for name, _ in self.code_pages}
        extra = tuple(p for p in pages if p[0] not in known)
        return replace(self, code_pages=self.code_pages + extra)

    def escpos_profile(self) -> Any:
        """A python-escpos `Profile` with exactly this width, these code pages and features."""
        from escpos.capabilities import Profile

        features = {
            "bitImageRaster": True,
            "highDensity": True,
            "graphics": False,
            "bitImageColumn": False,
            "qrCode": self.native_qr,
            "paperFullCut": self.cutter,
            "paperPartCut": self.cutter,
            "barcodeA": False,
            "barcodeB": False,
            "pdf417Code": False,
            "pulseStandard": False,
            **self.features,
        }
        profile = Profile(columns=self.columns, features=features)
        profile.profile_data = {
            "name": f"citycard {self.name}",
            "vendor": "citycard",
            "notes": "",
            "media": {"dpi": self.dpi, "width": {"mm": self.width_mm, "pixels": self.dots}},
            "fonts": {
                "0": {"name": "Font A", "columns": self.columns},
                "1": {"name": "Font B", "columns": self.columns * 4 // 3},
            },
            "colors": {"0": "black"},
            "features": features,
            "codePages": {str(number): name for name, number in self.code_pages},
        }
        return profile


PAPER_80MM = PaperProfile("80mm", width_mm=80, dots=576, columns=48)
# Many 58 mm printers lack the native QR command: the QR is sent as a raster image.
PAPER_58MM = PaperProfile("58mm", width_mm=58, dots=384, columns=32, native_qr=False)
