"""A fake camera for browser tests: a QR code as a Y4M video Chromium plays as its webcam
(`--use-file-for-fake-video-capture`), and a Chromium launched with that camera.

Chromium on Linux has no `BarcodeDetector`; the pages then decode with their vendored jsQR.
Tests also delete `window.BarcodeDetector` before the page loads, so the fallback is what runs
whatever the browser build.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .browser import ARGS, ARTIFACTS, CHROMIUM

WIDTH, HEIGHT = 640, 480
NO_BARCODE_DETECTOR = "delete window.BarcodeDetector;"


def qr_video(text: str, path: Path, frames: int = 10) -> Path:
    """A still QR code of `text`, centred on white, as a 4:2:0 Y4M file of `frames` frames."""
    import qrcode
    from PIL import Image

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(text)
    code.make(fit=True)
    img = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    scale = max(1, min(WIDTH, HEIGHT) // img.width)
    img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(img, ((WIDTH - img.width) // 2, (HEIGHT - img.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


@contextmanager
def chromium_with_camera(video: Path) -> Iterator[Any]:
    """Headless Chromium whose camera shows `video`, camera permission granted."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    args = [
        *ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()
