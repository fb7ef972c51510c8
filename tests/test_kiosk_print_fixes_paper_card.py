"""The paper card is a layout the kiosk does not print: the docs say so, and a station file
that asks for it is told so (not "unknown key")."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.station_config import StationConfigError, load_station_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("doc", ["README.md", "docs/architecture.md"])
def test_the_docs_do_not_promise_a_paper_card_fallback(doc: str) -> None:
    text = (ROOT / doc).read_text("utf-8")
    lowered = text.lower().replace("-", " ")
    assert "paper card fallback" not in lowered
    assert "the kiosk does not print it" in text


def test_a_station_file_asking_for_paper_cards_is_told_there_are_none(tmp_path: Path) -> None:
    station = tmp_path / "station.toml"
    station.write_text(
        '[card_printer]\npaper = true\n[receipt_printer]\nnetwork = "192.0.2.10:9100"\n'
    )
    with pytest.raises(StationConfigError) as refused:
        load_station_config(station)
    message = str(refused.value)
    assert "card_printer.paper" in message and "does not print paper cards" in message
    assert "ipp" in message  # what to give instead
