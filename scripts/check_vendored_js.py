"""Check that each vendored JavaScript file is byte for byte the file of the npm release its
manifest names (`*.vendor.json` beside it): the tarball is fetched with `npm pack`, its
integrity (SHA-512, as the registry publishes it) compared with the manifest's, and the file
inside compared with the vendored copy. Needs npm and the npm registry; writes nothing in the
repository.

    python scripts/check_vendored_js.py     # exit 0 when every copy matches
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check(manifest: Path) -> list[str]:
    meta = json.loads(manifest.read_text())
    copy = manifest.parent / meta["copy"]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", "--silent", f"{meta['package']}@{meta['version']}"],
            cwd=tmp, check=True, stdout=subprocess.DEVNULL,
        )
        tarball = next(Path(tmp).glob("*.tgz"))
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        problems = []
        if digest != meta["integrity"]:
            problems.append(f"{manifest}: the npm tarball's integrity is {digest}")
        with tarfile.open(tarball) as tar:
            member = tar.extractfile(meta["file"])
            original = member.read() if member else b""
        if original != copy.read_bytes():
            problems.append(f"{copy} differs from {meta['file']} of {meta['package']}@{meta['version']}")
        if hashlib.sha256(original).hexdigest() != meta["sha256"]:
            problems.append(f"{manifest}: sha256 does not match the release's file")
    return problems


def main() -> int:
    manifests = sorted(p for p in ROOT.glob("api/**/*.vendor.json"))
    problems = [p for m in manifests for p in check(m)]
    for line in problems:
        print(line)
    print(f"{len(manifests)} vendored file(s): " + ("all match" if not problems else "MISMATCH"))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
