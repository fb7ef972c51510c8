"""`make demo`: a development issuer, one fictional resident, a chip written through pcscd,
read by a venue's NFC reader, revoked, read again.

Every step runs the real console scripts, echoed as a technician would type them.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from cardio.chip import personalise
from cardio.pcsc import PcscConnection
from hardware.nfc_udp import NfcUdpTarget
from hardware.pcscd import PcscdService, ensure_pcscd
from hardware.virtual_t4t import VirtualType4Card
from hardware.vpcd import VpcdCard

# Obviously fictional: no such person.
RESIDENT = {
    "family_name": "Beispiel-Musterfrau",
    "given_name": "Mira",
    "birth_date": "1990-01-01",
    "sex": "X",
    "expires": "2030-12-31",
    "entitlements": ["library", "pool"],
    "languages": ["de", "en"],
    "photo": "photo.jpg",
}


CHIP_UID = "04A1B2C3D4E5F6"  # the blank card in the simulated writer


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name(args[0])
    click.secho("$ " + " ".join(args), fg="cyan")
    proc = subprocess.run([str(exe), *args[1:]], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)  # prompts such as "Present the card" come before the verdict
    sys.stdout.write(proc.stdout)
    if check and proc.returncode != 0:
        raise SystemExit(f"demo step failed with exit status {proc.returncode}")
    return proc


def _photo(path: Path) -> int:
    """A synthetic 3:4 portrait (a drawn silhouette, not a person), JPEG around 3 KB."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (240, 320), (200, 215, 230))
    d = ImageDraw.Draw(img)
    d.ellipse((70, 50, 170, 170), fill=(120, 90, 70))
    d.rectangle((40, 190, 200, 320), fill=(60, 80, 120))
    for quality in range(90, 10, -5):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        if buf.tell() <= 3072:
            break
    path.write_bytes(buf.getvalue())
    return buf.tell()


def _qr_version(text: str) -> int:
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return int(qr.version)


@contextlib.contextmanager
def _simulated_hardware() -> Iterator[tuple[PcscdService, VirtualType4Card]]:
    """pcscd with the vpcd driver (started if none runs) and one blank t4t card."""
    service = ensure_pcscd()
    try:
        yield service, VirtualType4Card(profile="t4t", uid=bytes.fromhex(CHIP_UID))
    finally:
        service.stop()


def _personalise(service: PcscdService, card: VirtualType4Card, chip_cose: bytes) -> None:
    reader = service.vpcd_reader(0)
    with VpcdCard(card, 0), PcscConnection.wait(reader, timeout=10) as conn:
        done = personalise(conn, chip_cose)
    click.echo(
        f"Wrote {done.ndef_bytes} bytes of NDEF to the chip {done.uid.hex().upper()} in "
        f"'{reader}' with {done.apdus} APDUs, read them back, and locked the chip."
    )


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"))
def main(out: Path) -> None:
    """Run the foundation demo into OUT (replaced on every run)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    issuer, public = out / "issuer", out / "issuer" / "public"
    photo_size = _photo(out / "photo.jpg")
    (out / "resident.json").write_text(json.dumps(RESIDENT, indent=2))

    _run("citycard-api", "init", "--dir", str(issuer))
    _run("citycard-api", "trust", "show", "--dir", str(public))
    issued = _run(
        "citycard-api", "issue", "--dir", str(issuer), "--resident", str(out / "resident.json"),
        "--variant", "chip", "--chip-uid", CHIP_UID,
        "--out", str(out / "chip.cose"), "--print-out", str(out / "print.cose"), "--qr",
    )  # fmt: skip
    qr_text = issued.stdout.strip().splitlines()[-1]
    index = next(
        line.split()[2] for line in issued.stdout.splitlines() if line.startswith("Status index")
    )
    _run("citycard-api", "publish", "--dir", str(issuer))

    with _simulated_hardware() as (service, card):
        click.secho("\n-- personalise the chip on the kiosk's writer (pcscd + vpcd) --", bold=True)
        _personalise(service, card, (out / "chip.cose").read_bytes())
        with NfcUdpTarget(card) as venue_reader:
            click.secho("\n-- the card as a venue reader sees it now --", bold=True)
            _run("citycard-reader", "verify", "--trust", str(public), "--qr", qr_text, check=False)
            _run(
                "citycard-reader",
                "read",
                "--nfc",
                venue_reader.path,
                "--trust",
                str(public),
                check=False,
            )

            click.secho("\n-- the resident reports the card lost: revoke and publish --", bold=True)
            _run("citycard-api", "status", "set", "--dir", str(issuer), index, "revoked")
            _run("citycard-api", "publish", "--dir", str(issuer))
            after = _run(
                "citycard-reader", "verify", "--trust", str(public), "--qr", qr_text, check=False
            )
            tap = _run(
                "citycard-reader",
                "read",
                "--nfc",
                venue_reader.path,
                "--trust",
                str(public),
                check=False,
            )
    if after.returncode == 0 or tap.returncode == 0:
        raise SystemExit("demo failed: a revoked card still verifies")

    print_size = (out / "print.cose").stat().st_size
    chip_size = (out / "chip.cose").stat().st_size
    click.secho("\n-- sizes --", bold=True)
    click.echo(f"QR text ({len(qr_text)} characters): {qr_text}")
    click.echo(
        f"print credential: {print_size} bytes (QR version {_qr_version(qr_text)} at level M)"
    )
    click.echo(f"chip credential:  {chip_size} bytes (with a {photo_size}-byte photo)")
    click.echo(f"trust list:       {(public / 'trust-list.cose').stat().st_size} bytes")
    click.echo(
        f"status list:      {(public / 'status' / '1.cwt').stat().st_size} bytes "
        "(131072 cards, 2 bits each)"
    )
    click.echo(f"\nEverything is in {out}/. Run 'make test' for the test suite.")


if __name__ == "__main__":
    main()
