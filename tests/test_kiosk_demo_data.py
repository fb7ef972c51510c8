"""One demo DATA_DIR serves one programme: its issuer gives that programme's numbers and
address, so a second programme is refused with a sentence, not given the first one's cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardio.errors import CitycardError
from kiosk.demo import _programme_allocator


def test_a_data_directory_of_one_programme_is_refused_for_another(tmp_path: Path) -> None:
    _programme_allocator(tmp_path, "zurich").issuer.close()
    again = _programme_allocator(tmp_path, "zurich")  # the same programme: the same issuer
    again.issuer.close()
    with pytest.raises(CitycardError, match="another --data directory") as refused:
        _programme_allocator(tmp_path, "bern")
    assert "'zurich'" in str(refused.value) and "'bern'" in str(refused.value)
