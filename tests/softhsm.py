"""SoftHSM2 tokens for tests (a helper module, not a test file).

SoftHSM2 reads SOFTHSM2_CONF once, at C_Initialize, and python-pkcs11 loads each module once per
process (`pkcs11.lib` caches the loaded library by path and only re-initialises it after a
finalize). So every token of one test process lives under ONE token directory, fixed by the
first `make_token` call, and each call adds a token with a fresh unique label. A token made after
the module was initialised is invisible until C_Initialize runs again; `Pkcs11KeyStore` does that
itself when a token is not found and none of its stores has a session open on the module.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

SOFTHSM_UTIL = "softhsm2-util"

_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",  # Debian, Ubuntu
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",  # Fedora, RHEL
    "/usr/local/lib/softhsm/libsofthsm2.so",  # source build
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",  # macOS Homebrew
)

_conf: Path | None = None  # the one SoftHSM2 config of this process


def softhsm_util() -> str | None:
    """Path of softhsm2-util, or None when SoftHSM2 is not installed."""
    return shutil.which(SOFTHSM_UTIL)


def softhsm_module() -> Path:
    """The SoftHSM2 PKCS#11 library ($SOFTHSM2_MODULE overrides the usual places)."""
    override = os.environ.get("SOFTHSM2_MODULE")
    candidates = (override,) if override else _MODULE_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError(
        "softhsm2-util is installed but libsofthsm2.so was not found; set SOFTHSM2_MODULE to it."
    )


def _config(tmp_path: Path) -> Path:
    """The process-wide SoftHSM2 config, created under the first caller's `tmp_path`."""
    global _conf
    if _conf is None or not _conf.is_file():
        root = Path(tmp_path) / "softhsm2"
        tokens = root / "tokens"
        tokens.mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = root / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {tokens}\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n",
            encoding="utf-8",
        )
        _conf = conf
    # Every call: the library reads this at C_Initialize, including a re-initialise for rescan.
    os.environ["SOFTHSM2_CONF"] = str(_conf)
    return _conf


def make_token(tmp_path: Path) -> tuple[Path, str, str, dict[str, str]]:
    """A fresh SoftHSM2 token: (module path, token label, user PIN, environment).

    `tmp_path` only matters on the first call of the process: it must outlive every test that
    uses a token (a pytest `tmp_path` or `tmp_path_factory` directory does). The returned
    environment has SOFTHSM2_CONF set, for running CLIs in subprocesses.
    """
    util = softhsm_util()
    if util is None:
        raise RuntimeError("softhsm2-util is not on PATH; install SoftHSM2 (apt install softhsm2).")
    module = softhsm_module()
    conf = _config(tmp_path)
    label = f"citycard-{secrets.token_hex(6)}"  # token labels are at most 32 characters
    pin = secrets.token_hex(4)
    so_pin = secrets.token_hex(4)
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    result = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise RuntimeError(f"softhsm2-util --init-token failed: {detail}")
    return module, label, pin, env
