"""A card printer reached over IPP (driverless, or a CUPS queue in front of a driver).

`IppCardPrinter` checks the printer (printer-state, printer-state-reasons, two-sided, document
formats), sends both sides of the card as one job and waits for it to complete, asking the
printer's state every `printer_check` seconds meanwhile (and when the job says
printer-stopped): a CUPS queue leaves the job pending when its printer stops (out of cards,
cover open), so the job's state alone would tell only at the job timeout. A stopped printer
becomes the condition errors of `printer.card_printer` (OutOfCardsError, RibbonError,
CardCoverOpenError, CardJamError), derived from printer-state-reasons by `raise_for_reasons`.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from PIL import Image

from .card_printer import (
    CardCoverOpenError,
    CardJamError,
    CardJobResult,
    CardPrinterError,
    CardPrinterOfflineError,
    OutOfCardsError,
    PrinterStatus,
    RibbonError,
    check_png,
)
from .ipp_client import IppClient, describe_uri
from .ipp_codec import (
    IppAttribute,
    IppJobState,
    IppResolution,
    PrinterState,
    ValueTag,
    attr,
    integer,
    strings,
    values,
)
from .pwg import encode_pwg_raster

__all__ = ["PREFERRED_FORMATS", "IppCardPrinter", "raise_for_reasons"]

log = logging.getLogger(__name__)

# printer-state-reasons keywords (RFC 8011 5.4.12, PWG 5100.9) that stop a card printer.
_REASON_ERRORS: tuple[tuple[tuple[str, ...], type[CardPrinterError], str], ...] = (
    (("media-empty", "media-needed", "input-tray-missing"), OutOfCardsError,
     "The card printer has no blank cards; load cards into the feeder."),
    (("marker-supply-empty", "marker-supply-missing", "toner-empty", "marker-waste-full"), RibbonError,
     "The card printer's ribbon is used up or missing; replace the ribbon."),
    (("cover-open", "door-open", "interlock-open"), CardCoverOpenError,
     "The card printer's cover is open; close it."),
    (("media-jam", "jam"), CardJamError,
     "A card is jammed in the card printer; open it, remove the card and close it."),
    (("offline", "shutdown", "connecting-to-device"), CardPrinterOfflineError,
     "The card printer is offline; switch it on and check its cable."),
)
PREFERRED_FORMATS = ("application/pdf", "image/pwg-raster")


def _reason_keywords(reasons: Iterable[str]) -> list[str]:
    """Reasons that stop the printer: without a -warning or -report suffix, and not 'none'."""
    out = []
    for reason in reasons:
        if reason == "none" or reason.endswith(("-warning", "-report")):
            continue
        out.append(reason.removesuffix("-error"))
    return out


def raise_for_reasons(reasons: Iterable[str], stopped: bool, *, during_job: bool = False) -> None:
    """Raise the typed error for the first blocking printer-state reason."""
    keywords = _reason_keywords(reasons)
    after = " The card job was cancelled: print the card again." if during_job else ""
    for names, error, sentence in _REASON_ERRORS:
        if any(k in names for k in keywords):
            raise error(sentence + after, during_job=during_job)
    if stopped:
        listed = ", ".join(keywords) or "no reason given"
        raise CardPrinterError(
            f"The card printer is stopped ({listed}); check it and resume it.{after}",
            during_job=during_job,
        )


class IppCardPrinter:
    """A card printer reached over IPP (driverless, or a CUPS queue in front of a driver).

    Both sides go in one job: a two-page PDF, or a two-page PWG raster when the printer does
    not take PDF (chosen from document-format-supported). The job is sent with
    sides=two-sided-long-edge; a printer that cannot print two-sided is refused, since it
    would print the back on a second card. `print_card` returns once the job completed;
    a job that stops, aborts or does not complete within `job_timeout` is cancelled and
    raised as an error, so nothing is reported printed that was not; so is a job whose
    printer stopped with a blocking reason (checked every `printer_check` seconds of polling).
    """

    def __init__(
        self,
        uri: str,
        *,
        timeout: float = 30.0,
        job_timeout: float = 180.0,
        poll_interval: float = 0.2,
        printer_check: float = 1.0,
        retries: int = 5,
        backoff: float = 0.5,
        formats: Sequence[str] = PREFERRED_FORMATS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = IppClient(uri, timeout=timeout, retries=retries, backoff=backoff, sleep=sleep)
        self.job_timeout = job_timeout
        self.poll_interval = poll_interval
        self.printer_check = printer_check
        self.formats = tuple(formats)
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"IppCardPrinter({describe_uri(self.client.uri)!r})"

    _STATUS_ATTRS = (
        "printer-state", "printer-state-reasons", "printer-state-message",
        "printer-is-accepting-jobs", "document-format-supported", "sides-supported",
        "pwg-raster-document-resolution-supported", "pwg-raster-document-type-supported",
        "printer-make-and-model",
    )

    def status(self) -> PrinterStatus:
        try:
            attrs = self.client.get_printer_attributes(self._STATUS_ATTRS)
        except CardPrinterOfflineError as exc:
            return PrinterStatus(False, "offline", ("offline",), str(exc))
        state_code = integer(attrs, "printer-state")
        state = PrinterState(state_code).name.lower() if state_code in (3, 4, 5) else "unknown"
        reasons = strings(attrs, "printer-state-reasons")
        accepting = bool(values(attrs, "printer-is-accepting-jobs")[:1] != (False,))
        blocking = _reason_keywords(reasons)
        ready = state != "stopped" and accepting and not blocking
        message = next(iter(strings(attrs, "printer-state-message")), "")
        details = {
            "make-and-model": next(iter(strings(attrs, "printer-make-and-model")), ""),
            "document-formats": ",".join(strings(attrs, "document-format-supported")),
        }
        return PrinterStatus(ready, state, tuple(reasons), message, details)

    def _choose_format(self, attrs: Mapping[str, IppAttribute]) -> str:
        supported = set(strings(attrs, "document-format-supported"))
        for fmt in self.formats:
            if fmt in supported:
                return fmt
        raise CardPrinterError(
            f"The card printer accepts none of {', '.join(self.formats)} (it accepts "
            f"{', '.join(sorted(supported)) or 'nothing it names'}); use a driverless IPP card "
            "printer or a CUPS queue with its driver."
        )

    def _pwg(self, attrs: Mapping[str, IppAttribute], front: Image.Image, back: Image.Image) -> bytes:
        resolutions = [v for v in values(attrs, "pwg-raster-document-resolution-supported") if isinstance(v, IppResolution)]
        dpis = sorted({r.x for r in resolutions if r.units == 3 and r.x == r.y}) or [300]
        dpi = 300 if 300 in dpis else min(dpis, key=lambda d: abs(d - 300))
        types = strings(attrs, "pwg-raster-document-type-supported")
        color = "srgb_8" if "srgb_8" in types or not types else "sgray_8"
        if color not in types and types and "sgray_8" not in types:
            raise CardPrinterError(
                f"The card printer accepts PWG raster only as {', '.join(types)}; citycard writes "
                "srgb_8 or sgray_8. Use PDF or another printer."
            )
        pages = [front, back]
        if dpi != 300:
            pages = [p.resize((round(p.width * dpi / 300), round(p.height * dpi / 300)), Image.Resampling.LANCZOS) for p in pages]
        return encode_pwg_raster(pages, dpi=dpi, color=color)

    def print_card(self, front_png: bytes, back_png: bytes) -> CardJobResult:
        front = check_png(front_png, "front")
        back = check_png(back_png, "back")
        if front.size != back.size:
            raise CardPrinterError("The front and back of the card differ in size; render the card again.")
        attrs = self.client.get_printer_attributes(self._STATUS_ATTRS)
        state = integer(attrs, "printer-state")
        raise_for_reasons(strings(attrs, "printer-state-reasons"), state == PrinterState.STOPPED)
        if values(attrs, "printer-is-accepting-jobs")[:1] == (False,):
            raise CardPrinterError("The card printer is not accepting jobs; enable its queue and try again.")
        sides = strings(attrs, "sides-supported")
        if "two-sided-long-edge" not in sides:
            raise CardPrinterError(
                "The card printer prints one side only, so the back would come out on a second "
                "card; use a two-sided (duplex) card printer."
            )
        fmt = self._choose_format(attrs)
        if fmt == "application/pdf":
            dpi = round(float(front.info.get("dpi", (300, 300))[0]))  # PNG stores dots per metre
            document = _pdf(front, back, float(dpi))
        else:
            document = self._pwg(attrs, front, back)
        job = self.client.print_job(
            document,
            fmt,
            job_attrs=[attr("sides", ValueTag.KEYWORD, "two-sided-long-edge")],
        )
        job_id = integer(job, "job-id")
        if job_id is None:
            raise CardPrinterOfflineError("The card printer accepted the job but gave no job-id; check the printer.")
        final = self._wait(job_id, integer(job, "job-state"))
        return CardJobResult(
            printer=describe_uri(self.client.uri),
            job_id=job_id,
            document_format=fmt,
            bytes_sent=len(document),
            state=final,
        )

    def _wait(self, job_id: int, state: int | None) -> str:
        deadline = time.monotonic() + self.job_timeout
        reasons: tuple[str, ...] = ()
        # Counted in polls, not seconds, so an injected sleep keeps the same rhythm.
        check_every = max(1, round(self.printer_check / self.poll_interval)) if self.poll_interval > 0 else 1
        polls = 0
        while state != IppJobState.COMPLETED:
            if state in (IppJobState.CANCELED, IppJobState.ABORTED):
                listed = ", ".join(r for r in reasons if r != "none") or "no reason given"
                raise CardPrinterError(
                    f"The card printer {'cancelled' if state == IppJobState.CANCELED else 'aborted'} "
                    f"the card job ({listed}); the card was not printed. Check the printer and print again.",
                    during_job=True,
                )
            if state == IppJobState.PROCESSING_STOPPED or time.monotonic() >= deadline:
                printer = self.client.get_printer_attributes(("printer-state", "printer-state-reasons"))
                self._cancel(job_id)
                # A job that is merely slow (printer and job still processing) is a timeout,
                # not a stopped printer: only a stop or a stopped printer says "stopped".
                stopped = state == IppJobState.PROCESSING_STOPPED or (
                    integer(printer, "printer-state") == PrinterState.STOPPED
                )
                raise_for_reasons(strings(printer, "printer-state-reasons"), stopped, during_job=True)
                raise CardPrinterError(
                    f"The card job did not finish within {self.job_timeout:g} s and was cancelled; "
                    "check the printer and print the card again.",
                    during_job=True,
                )
            self.sleep(self.poll_interval)
            job = self.client.get_job_attributes(job_id)
            state = integer(job, "job-state")
            reasons = strings(job, "job-state-reasons")
            polls += 1
            waiting = state in (IppJobState.PENDING, IppJobState.PENDING_HELD, IppJobState.PROCESSING)
            if waiting and ("printer-stopped" in reasons or polls % check_every == 0):
                self._raise_if_printer_stopped(job_id)
        return "completed"

    def _raise_if_printer_stopped(self, job_id: int) -> None:
        """Cancel the job and raise when its printer is stopped with a blocking reason."""
        printer = self.client.get_printer_attributes(("printer-state", "printer-state-reasons"))
        printer_reasons = strings(printer, "printer-state-reasons")
        if integer(printer, "printer-state") == PrinterState.STOPPED and _reason_keywords(printer_reasons):
            self._cancel(job_id)
            raise_for_reasons(printer_reasons, True, during_job=True)

    def _cancel(self, job_id: int) -> None:
        try:
            self.client.cancel_job(job_id)
        except CardPrinterError as exc:
            log.warning("could not cancel card job %d: %s", job_id, type(exc).__name__)


def _pdf(front: Image.Image, back: Image.Image, dpi: float) -> bytes:
    buf = io.BytesIO()
    front.convert("RGB").save(
        buf, "PDF", resolution=dpi, save_all=True, append_images=[back.convert("RGB")],
        quality=95, subsampling=0, title="citycard", creationDate=time.gmtime(0), modDate=time.gmtime(0),
    )
    return buf.getvalue()
