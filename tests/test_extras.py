"""Each deployable installs what it needs and no more: `citycard[kiosk]`, `[issuer]`,
`[terminal]`, `[provision]`.

For each extra, a fresh interpreter refuses to import every third-party package that neither the
core dependencies nor that extra installs, then imports every module of the deployable (the
modules that run simulated hardware are dev-only and left out). A reader terminal that needed
the PostgreSQL driver, or an issuer that needed pcscd's client library, fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Distribution name -> the top-level modules it installs.
IMPORT_NAMES = {
    "cryptography": ["cryptography"],
    "cbor2": ["cbor2"],
    "click": ["click"],
    "pyscard": ["smartcard"],
    "nfcpy": ["nfc"],
    "ndeflib": ["ndef"],
    "python-escpos": ["escpos"],
    "pyserial": ["serial"],
    "pyusb": ["usb"],
    "qrcode": ["qrcode"],
    "Pillow": ["PIL"],
    "opencv-python-headless": ["cv2"],
    "flask": ["flask"],
    "waitress": ["waitress"],
    "Babel": ["babel"],
    "sqlalchemy": ["sqlalchemy"],
    "psycopg": ["psycopg"],
    "python-pkcs11": ["pkcs11"],
    "alembic": ["alembic"],
    "apifairy": ["apifairy"],
    "marshmallow": ["marshmallow"],
    "flask-marshmallow": ["flask_marshmallow"],
    "apispec": ["apispec"],
    "Flask-HTTPAuth": ["flask_httpauth"],
    "sd-jwt": ["sd_jwt"],
    "pymdoccbor": ["pymdoccbor"],
    "resvg-py": ["resvg_py"],
}
# What each extra deploys, and the modules of ours that run only in development.
DEPLOYABLES = {
    "kiosk": (["kiosk", "printer"], {"kiosk.simulate", "kiosk.demo"}),
    "issuer": (["api.issuer", "api.phone", "api.cli"], {"api.issuer.demo"}),
    "terminal": (["api.terminal"], set()),
    "provision": (["firmware_tools"], set()),
}


def _dist(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]


def _requirements() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    core = {_dist(r) for r in project["dependencies"]}
    extras = {k: {_dist(r) for r in v} for k, v in project["optional-dependencies"].items()}
    return core, extras


def _modules(roots: list[str], skip: set[str]) -> list[str]:
    found = []
    for root in roots:
        path = ROOT / root.replace(".", "/")
        files = [path.with_suffix(".py")] if path.with_suffix(".py").is_file() else []
        files += sorted(path.rglob("*.py")) if path.is_dir() else []
        for file in files:
            parts = list(file.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            if name not in skip and not any(name.startswith(s + ".") for s in skip):
                found.append(name)
    return found


def test_every_declared_distribution_has_its_import_names() -> None:
    core, extras = _requirements()
    declared = core.union(*(v for k, v in extras.items() if k in DEPLOYABLES))
    assert declared <= set(IMPORT_NAMES), declared - set(IMPORT_NAMES)


@pytest.mark.parametrize("extra", sorted(DEPLOYABLES))
def test_a_deployable_imports_with_its_extra_only(extra: str) -> None:
    core, extras = _requirements()
    installed = core | extras[extra]
    blocked = sorted({m for d, names in IMPORT_NAMES.items() if d not in installed for m in names})
    roots, skip = DEPLOYABLES[extra]
    code = f"""
import importlib, importlib.abc, sys
BLOCKED = {blocked!r}
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError(f'{{name}} is not installed by citycard[{extra}]')
        return None
for name in list(sys.modules):
    if name.split('.')[0] in BLOCKED:
        del sys.modules[name]
sys.meta_path.insert(0, Refuse())
failed = []
for module in {_modules(roots, skip)!r}:
    try:
        importlib.import_module(module)
    except Exception as exc:
        failed.append(f'{{module}}: {{type(exc).__name__}}: {{exc}}')
print('\\n'.join(failed))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"citycard[{extra}] misses:\n{out.stdout}"
