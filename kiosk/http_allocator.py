"""An `Allocator` over the city's issuer API: signed kiosk requests with urllib.

    allocator = HttpAllocator("https://cards.example.city", Path("/etc/citycard/kiosk.json"))
    signer = allocator.kiosk_signer(Path("/etc/citycard/keys"))   # the kiosk's signing key
    station = Station(allocator, signer, journal, writer, card_printer, receipts)

Every request is signed with the kiosk's API key exactly as cardio.kiosk_auth verifies it
(`KioskCredential.headers`: method, path with query, timestamp, a fresh nonce, the body's
SHA-256), so the same credential file that `citycard-api kiosk add` prints is all a kiosk needs
to talk to the server. The three calls map onto the kiosk endpoints (docs/api.md):

    allocate(request_id)               POST /api/v1/kiosk/allocations {"request_id"}   (idempotent)
    allocate_successor(request_id, s)  POST /api/v1/kiosk/allocations
                                         {"request_id", "kind", "document_number"}  (idempotent)
    report_issued(number, iat, exp)    POST /api/v1/kiosk/cards/<number>/issued
    void(number)                       POST /api/v1/kiosk/cards/<number>/void
    replace_revocation_code(number, h) POST /api/v1/kiosk/cards/<number>/revocation-code

**Errors** follow what kiosk.job expects. A 4xx answer is a definite refusal: the server looked
at the request and did nothing (`AllocationError`, with the server's own sentence). Anything
else — the server cannot be reached, the connection drops, the answer times out, a 5xx, a
408/429, a success whose body cannot be read — leaves the outcome unknown: the server may have
allocated (or voided). That is `RegistryUnreachableError`, a `CitycardError` but *not* an
`AllocationError`, so that the job keeps the attempt unfinished and its recovery asks again
with the same request id (the allocation is idempotent per id) and voids what it learns.

Nothing personal is ever sent: the request bodies hold a request id, a document number and two
timestamps. The allocation's answer holds the receipt's one-time revocation code, so use
https for anything but a server on this machine.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cardio.errors import CitycardError, KeyStoreError
from cardio.keys import FileKeyStore, Signer, SoftwareSigner
from cardio.kiosk_auth import KioskCredential
from cardio.urls import http_url

from .allocator import (
    Allocation,
    AllocationError,
    KioskKeySigner,
    Successor,
    SuccessorRefusedError,
)

log = logging.getLogger(__name__)

KIOSK_PREFIX = "/api/v1/kiosk"
_RETRYABLE_4XX = {408, 425, 429}  # the server did not process the request: ask again later


class RegistryUnreachableError(CitycardError):
    """The city registry could not be asked, or its answer was lost: the outcome is unknown
    (the job retries with the same request id, or its recovery voids)."""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not followed: the signature covers the path, and a POST must not turn
    into a GET (the registry's requests, and the phone offer's upload: kiosk.wallet_offer)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def load_credential(credential: KioskCredential | str | Path) -> KioskCredential:
    """A kiosk credential, or the path of the JSON file `citycard-api kiosk add` wrote."""
    if isinstance(credential, KioskCredential):
        return credential
    path = Path(credential)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise CitycardError(
            f"{path} does not exist; give the kiosk credential file that 'citycard-api kiosk add' wrote."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CitycardError(f"The kiosk credential {path} cannot be read ({exc}).") from exc
    return KioskCredential.from_json(text)


def load_signing_key(path: Path, kiosk_id: str) -> Signer:
    """The kiosk's credential-signing key: a PEM file, or a key directory (a file key store,
    e.g. the issuer's DIR/keys in development) holding `<kiosk id>.pem`."""
    path = Path(path)
    if path.is_dir():
        return FileKeyStore(path).signer(kiosk_id)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyStoreError(
            f"The kiosk signing key {path} cannot be read; give a PEM file or a key directory."
        ) from exc
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(f"{path} is not an unencrypted PEM private key.") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyStoreError(f"{path} does not hold a P-256 key.")
    return SoftwareSigner(key)


class IssuerUrlError(CitycardError):
    """An issuer API address that is not an http(s) base URL."""


def issuer_base_url(url: str) -> str:
    """`url` as the issuer API's base URL (no trailing slash); IssuerUrlError when it is not
    an http(s) address with a host (urllib would fail later with a bare ValueError)."""
    parts = http_url(url.strip())
    if parts is None:
        raise IssuerUrlError(
            f"{url!r} is not an http(s) address; give the issuer API's base URL, "
            "e.g. https://cards.example.city."
        )
    if parts.query or parts.fragment:
        raise IssuerUrlError(
            f"{url!r} must not have a query or a fragment; give the issuer API's base URL, "
            "e.g. https://cards.example.city."
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpAllocator:
    """An `Allocator` calling the issuer API at `base_url` as the kiosk of `credential`."""

    def __init__(
        self,
        base_url: str,
        credential: KioskCredential | str | Path,
        timeout: float = 10,
    ) -> None:
        self.base_url = issuer_base_url(base_url)
        parts = urlsplit(self.base_url)
        if parts.scheme == "http" and not _is_local(parts.hostname or ""):
            log.warning(
                "the issuer API at %s is plain http: revocation codes cross the network unencrypted",
                parts.netloc,
            )
        self._prefix = parts.path  # the server sees (and we sign) the full path
        self.credential = load_credential(credential)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(NoRedirect())

    def __repr__(self) -> str:
        return f"HttpAllocator({self.base_url!r}, kiosk={self.credential.kiosk_id!r})"

    @property
    def kiosk_id(self) -> str:
        return self.credential.kiosk_id

    # -- the Allocator protocol ------------------------------------------------------------------

    def allocate(self, request_id: str) -> Allocation:
        status, got = self._call("POST", "/allocations", {"request_id": request_id}, "allocation")
        return self._allocation(status, got)

    def allocate_successor(self, request_id: str, successor: Successor) -> Allocation:
        body = {
            "request_id": request_id,
            "kind": successor.kind,
            "document_number": successor.document_number,
        }
        try:
            status, got = self._call("POST", "/allocations", body, successor.kind)
        except AllocationError as exc:
            if exc.status in (404, 409):  # the number's card, not the request, is the problem
                raise SuccessorRefusedError(exc.reason) from None
            raise
        return self._allocation(status, got)

    def _allocation(self, status: int, got: dict[str, Any]) -> Allocation:
        try:
            code = got.get("revocation_code")
            return Allocation(
                request_id=str(got["request_id"]),
                document_number=str(got["document_number"]),
                status_list=str(got["status_list"]),
                status_uri=str(got["status_uri"]),
                status_index=int(got["status_index"]),
                kid=str(got.get("kid") or ""),
                revocation_code=str(code) if code is not None else None,
                replayed=status == 200,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RegistryUnreachableError(
                "The city registry's answer to the allocation cannot be read; the kiosk will ask "
                "again."
            ) from exc

    def report_issued(self, document_number: str, issued_at: int, expires_at: int) -> None:
        self._call(
            "POST",
            f"/cards/{quote(document_number, safe='')}/issued",
            {"issued_at": issued_at, "expires_at": expires_at},
            "report",
        )

    def void(self, document_number: str) -> None:
        self._call("POST", f"/cards/{quote(document_number, safe='')}/void", None, "void")

    def replace_revocation_code(self, document_number: str, code_hash: str) -> None:
        """A receipt printed again with a new code: only `code_hash`'s code revokes the card."""
        self._call(
            "POST",
            f"/cards/{quote(document_number, safe='')}/revocation-code",
            {"revocation_code_hash": code_hash},
            "new revocation code",
        )

    # -- more ------------------------------------------------------------------------------------

    def fetch_published(self, directory: Path, status_lists: list[str]) -> None:
        """The server's published files into `directory` (kiosk.renewal.PublishedFilesSource)."""
        fetch_published(self.base_url, directory, status_lists, self.timeout)

    def whoami(self) -> dict[str, Any]:
        """GET /api/v1/kiosk/self: the kiosk id, its signing key's kid, state, issuer id."""
        return self._call("GET", "/self", None, "self-test")[1]

    def kiosk_signer(self, key: Path | Signer) -> KioskKeySigner:
        """The kiosk's credential signer for this server's issuer: `key` is the signing key
        (a Signer, a PEM file or a key directory, see load_signing_key). Asks the server who
        this kiosk is, and refuses a key other than the one the server registered for it (its
        cards would not verify)."""
        signer = key if not isinstance(key, Path) else load_signing_key(key, self.kiosk_id)
        me = self.whoami()
        kid = str(me.get("kid", ""))
        if signer.kid.hex() != kid:
            raise CitycardError(
                f"The signing key given is not the registered signing key of kiosk {self.kiosk_id!r} "
                f"(the server has key {kid or 'none'}); give the key that was registered with "
                "'citycard-api kiosk add'."
            )
        return KioskKeySigner(signer, str(me["issuer"]))

    def _call(self, method: str, path: str, payload: Any, what: str) -> tuple[int, dict[str, Any]]:
        """Send one signed request; (HTTP status, JSON object) of a 2xx answer."""
        full_path = f"{self._prefix}{KIOSK_PREFIX}{path}"
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Accept": "application/json", "User-Agent": "citycard-kiosk"}
        headers.update(self.credential.headers(method, full_path, body))
        if body:
            headers["Content-Type"] = "application/json"
        url = f"{self.base_url}{KIOSK_PREFIX}{path}"
        req = urllib.request.Request(
            url, data=body if method != "GET" else None, headers=headers, method=method
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as res:
                status, raw = res.status, res.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, _read_quietly(exc)
            exc.close()
            message = _message(raw)
            if 400 <= status < 500 and status not in _RETRYABLE_4XX:
                raise AllocationError(
                    f"The city registry refused the {what} (HTTP {status}): {message}",
                    status,
                    message,
                ) from None
            if 300 <= status < 400:
                raise AllocationError(
                    f"The city registry's address redirects (HTTP {status}); give the final "
                    f"address with --api instead of {self.base_url}."
                ) from None
            raise RegistryUnreachableError(
                f"The city registry could not answer the {what} (HTTP {status}): {message}"
            ) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise RegistryUnreachableError(
                f"The city registry at {self.base_url} cannot be reached for the {what} "
                f"({_reason(reason)})."
            ) from exc
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise RegistryUnreachableError(
                f"The city registry's answer to the {what} is not a JSON object (HTTP {status})."
            )
        return status, data


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(16 * 1024)
    except (OSError, http.client.HTTPException):
        return b""


def _message(raw: bytes) -> str:
    """The server's sentence from a JSON error {code, message}, or a generic one."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"]:
        return str(data["message"])
    return "the answer gave no reason."


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "no answer in time"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    text = str(reason).strip()
    return text or type(reason).__name__


def connect(
    base_url: str, credential: Path, kiosk_key: Path, timeout: float = 10
) -> tuple[HttpAllocator, KioskKeySigner]:
    """The allocator and the kiosk's signer for a kiosk talking to the API at `base_url`
    (asks the server who the kiosk is: a wrong credential or key fails here, at start-up)."""
    allocator = HttpAllocator(base_url, credential, timeout)
    return allocator, allocator.kiosk_signer(Path(kiosk_key))


def fetch_published(
    base_url: str, directory: Path, status_lists: list[str], timeout: float = 10
) -> None:
    """Download the published files a reader needs (root key, trust list, the given status
    lists) from the API at `base_url` into `directory`, laid out as `citycard-api publish`
    writes them (cardio.published.load_verifier reads it)."""
    from cardio.published import ROOT_KEY_FILE, STATUS_DIR, STATUS_SUFFIX, TRUST_LIST_FILE

    base = issuer_base_url(base_url)
    files = {
        ROOT_KEY_FILE: "/.well-known/citycard/root-key",
        TRUST_LIST_FILE: "/.well-known/citycard/trust-list",
    }
    for list_id in status_lists:
        files[f"{STATUS_DIR}/{list_id}{STATUS_SUFFIX}"] = f"/status/{quote(list_id, safe='')}"
    (directory / STATUS_DIR).mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        try:
            with urllib.request.urlopen(base + path, timeout=timeout) as res:
                data = res.read()
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise RegistryUnreachableError(
                f"The published file {path} cannot be fetched from {base} ({exc})."
            ) from exc
        (directory / name).write_bytes(data)
