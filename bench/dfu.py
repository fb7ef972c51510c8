"""Benchmark: USB DFU 1.1 flashing — control transfers and time per flashed kilobyte.

`firmware_tools.dfu.DfuSession.flash` flashes a 64 KiB image into `hardware.dfu_sim` devices
behind the fake pyusb backend (real `usb.core.Device` objects, every request a real
`ctrl_transfer`), for several wTransferSize values, manifestation-tolerant and not.

Minimum control transfers of the download phase, for an image of S bytes and wTransferSize T
(blocks B = ceil(S / T)), on a device that finishes each block within the GETSTATUS that
follows it (never answers dfuDNBUSY):

    per block:        1 DFU_DNLOAD + 1 DFU_GETSTATUS          (DFU 1.1 requires the GETSTATUS
                                                                to leave dfuDNLOAD-SYNC)
    manifestation:    1 zero-length DFU_DNLOAD
                      + 2 DFU_GETSTATUS if manifestation tolerant (dfuMANIFEST, then dfuIDLE)
                      + 1 DFU_GETSTATUS otherwise (dfuMANIFEST; the device then waits in
                        dfuMANIFEST-WAIT-RESET for the USB reset and is not polled again)
    minimum = 2 B + 1 + (2 or 1)

A device that answers dfuDNBUSY adds one GETSTATUS per busy answer; that is the device's
choice, so a run on such a device would add those polls to the minimum (none here).
Setup transfers are reported beside it but not in the ratio: DFU_DETACH (runtime mode) and the
pre-flight DFU_GETSTATUS that checks the device is in dfuIDLE before block 0 (it is what lets
the flasher clear a leftover dfuERROR or abort a half-done download). The USB reset is a bus
event, not a control transfer.

Time per KiB is the median wall time of the whole `flash` (detach, re-enumeration, download,
manifestation, reset, finding the runtime device again) over N runs, divided by 64: on the
fake backend it is the host software's cost per KiB (pyusb plus ours); on a real bus each
control transfer adds ~1 ms (full speed, one per USB frame) and the device's flash write time.

    .venv/bin/python bench/dfu.py [--reps 20]

Ends with `ratio: X.XX` = sum of minimum download-phase transfers / sum of ours over the rows
(target 1.00).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from firmware_tools.dfu import DfuSession, open_device
from firmware_tools.dfu_protocol import DfuAttributes
from hardware.dfu_sim import FakeDfuDevice, FakeUsbBackend

VID, PID = 0x1209, 0x2001
IMAGE = bytes((i * 31 + 7) & 0xFF for i in range(64 * 1024))


def minimum(size: int, transfer: int, tolerant: bool) -> int:
    blocks = -(-size // transfer)
    return 2 * blocks + 1 + (2 if tolerant else 1)


def run(transfer: int, tolerant: bool, reps: int) -> dict[str, float | int | str]:
    attrs = DfuAttributes.CAN_DNLOAD | (DfuAttributes.MANIFESTATION_TOLERANT if tolerant else 0)
    times = []
    ours = setup = 0
    for _ in range(reps):
        dev = FakeDfuDevice(vid=VID, pid=PID, transfer_size=transfer, attributes=attrs, capacity=len(IMAGE))
        backend = FakeUsbBackend([dev])
        t0 = time.perf_counter()
        session = DfuSession(open_device(backend, VID, PID), backend)
        report = session.flash(IMAGE)
        times.append(time.perf_counter() - t0)
        if dev.firmware != IMAGE:
            raise SystemExit("the fake device does not hold the image after flashing")
        ours, setup = report.download.total(), report.setup.total()
        if sum(dev.counts.values()) != ours + setup:
            raise SystemExit("host and device disagree on the number of control transfers")
    return {
        "transfer": transfer,
        "mode": "tolerant" if tolerant else "wait-reset",
        "blocks": -(-len(IMAGE) // transfer),
        "minimum": minimum(len(IMAGE), transfer, tolerant),
        "ours": ours,
        "setup": setup,
        "ms_per_kib": statistics.median(times) * 1000 / (len(IMAGE) / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    rows = [run(t, True, args.reps) for t in (256, 1024, 4096)] + [run(1024, False, args.reps)]
    print(f"64 KiB image, fake pyusb backend, median of {args.reps} flashes")
    head = f"{'wTransferSize':>13} {'manifest':>10} {'blocks':>6} {'minimum':>7} {'ours':>5} {'setup':>5} {'ms/KiB':>7} {'ratio':>6}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['transfer']:>13} {r['mode']:>10} {r['blocks']:>6} {r['minimum']:>7} {r['ours']:>5} "
            f"{r['setup']:>5} {float(r['ms_per_kib']):>7.3f} {int(r['minimum']) / int(r['ours']):>6.2f}"
        )
    print("-" * len(head))
    total_min = sum(int(r["minimum"]) for r in rows)
    total_ours = sum(int(r["ours"]) for r in rows)
    print(f"minimum {total_min} / ours {total_ours} control transfers (download phase; setup not counted)")
    print(f"ratio: {total_min / total_ours:.2f}")


if __name__ == "__main__":
    main()
