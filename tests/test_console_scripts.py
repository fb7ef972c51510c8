"""The installed console scripts run (entry points in pyproject.toml are wired to the CLIs)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent  # the venv's bin directory, where pip put the scripts


def script(name: str) -> Path:
    path = BIN / name
    assert path.is_file() and os.access(path, os.X_OK), (
        f"{path} is missing; install the project into the venv: pip install -e '.[dev]'"
    )
    return path


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, check=False
    )


def test_console_scripts_are_wired(tmp_path: Path) -> None:
    api, reader = script("citycard-api"), script("citycard-reader")

    result = run(api, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: citycard-api [OPTIONS] COMMAND [ARGS]...")
    for command in ("init", "issue", "publish", "status", "trust"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command

    result = run(reader, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: citycard-reader [OPTIONS] COMMAND [ARGS]...")
    assert re.search(r"^\s+verify\s", result.stdout, re.M)

    directory = tmp_path / "issuer"
    result = run(api, "init", "--dir", directory, "--issuer", "script-city")
    assert result.returncode == 0, result.stderr
    match = re.search(r"^Root key fingerprint \(SHA-256\): ([0-9A-F]{64})$", result.stdout, re.M)
    assert match, result.stdout

    result = run(api, "trust", "show", "--dir", directory, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["issuer"] == "script-city"
    assert data["version"] == 1
    assert data["root"]["fingerprint"] == match[1]
    assert [k["label"] for k in data["keys"]] == ["kiosk-1", "status-1"]

    # A failure through the real entry point is one sentence and exit status 2.
    result = run(api, "init", "--dir", directory)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: {directory} already holds an issuer; pick an empty directory."
    ]
