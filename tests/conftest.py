"""Shared fixtures: a development issuer and obviously fictional residents."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings

from api.issuer.service import Issuer
from cardio.credential import Holder

# The real pcscd + vpcd stack, shared by every module that needs it (one pcscd per session).
from .pcsc_fixtures import (  # noqa: F401
    fixture_card_processes,
    fixture_pcscd_service,
    fixture_vpcd_cards,
)

# On pytest-xdist workers, the tests that present cards share one worker (the module says why).
from .xdist_groups import (  # noqa: F401
    pytest_configure,
    pytest_runtest_protocol,
    pytest_xdist_make_scheduler,
)

# Property tests check what is read, not how fast: hypothesis's per-example deadline (200 ms)
# failed a correct pure-Python parse of a 70 KB payload on a loaded 2-core machine (1.2 s).
# Speed is measured in bench/, side by side, never by a timer in a test.
settings.register_profile("citycard", deadline=None)
settings.load_profile("citycard")

NOW = 1_790_000_000  # 2026-09-21, a fixed clock for reproducible verdicts


def synthetic_photo(max_bytes: int = 3072) -> bytes:
    """A drawn silhouette (not a person) as a JPEG close to `max_bytes`."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (240, 320), (200, 215, 230))
    d = ImageDraw.Draw(img)
    d.ellipse((70, 50, 170, 170), fill=(120, 90, 70))
    d.rectangle((40, 190, 200, 320), fill=(60, 80, 120))
    for q in range(95, 5, -5):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        if buf.tell() <= max_bytes:
            return buf.getvalue()
    raise AssertionError("could not make a small enough photo")


def fictional_holder() -> Holder:
    """The obviously fictional resident of most tests (also for module-scoped fixtures)."""
    return Holder(
        program="demo",
        family_name="Beispiel-Musterfrau",
        given_name="Mira",
        birth_date=date(1990, 1, 1),
        sex="X",
        entitlements=("library", "pool"),
        languages=("de", "en"),
    )


@pytest.fixture
def holder() -> Holder:
    return fictional_holder()


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    return Issuer.init(tmp_path / "issuer", now=NOW)
