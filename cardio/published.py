"""Reading a directory of published files: what a reader needs to verify offline.

Layout, as `citycard-api publish` writes it:
  root-key.pem        the city root public key (pinned by fingerprint at provisioning)
  trust-list.cose     the root-signed trust list
  status/<id>.cwt     one Token Status List per list id
An issuer directory holds the same files under `public/`; either may be given.

Every file is read as a regular file of bounded size (`cardio.files.read_limited`): a path
that names a device, a FIFO or a huge file is refused with a sentence, never read to the end.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from .errors import CitycardError, KeyStoreError, MalformedError, TrustListError
from .files import FileReadError, read_limited
from .keys import load_public_pem
from .statuslist import DEFAULT_MAX_TOKEN
from .trustlist import MAX_TRUST_LIST, TrustCache, TrustList, parse_trust_list
from .verify import Policy, Verifier

ROOT_KEY_FILE = "root-key.pem"
TRUST_LIST_FILE = "trust-list.cose"
STATUS_DIR = "status"
STATUS_SUFFIX = ".cwt"
REFUSED_SUFFIX = ".refused"  # a held copy that may not be used, kept as evidence
# A PEM P-256 public key is under 200 bytes; the bound leaves room for comments around it.
MAX_ROOT_KEY_FILE = 64 * 1024


def published_dir(directory: Path) -> Path:
    """The folder holding the published files, for an issuer or a published directory."""
    directory = Path(directory)
    if (directory / "issuer.json").is_file():
        return directory / "public"
    return directory


def _check_dir(directory: Path) -> None:
    """Say plainly that a trust directory is missing, rather than that a file in it is."""
    if not directory.is_dir():
        state = "is not a directory" if directory.exists() else "does not exist"
        raise TrustListError(
            f"The trust directory {directory} {state}; check the path, or copy the city's "
            "published files there."
        )


def read_root_key(path: Path) -> ec.EllipticCurvePublicKey:
    """The city root key in the PEM file `path`; TrustListError naming the file when it is not
    a regular file of at most MAX_ROOT_KEY_FILE bytes holding a P-256 public key.
    FileNotFoundError (and other OSErrors) as raised: the caller knows what the path was for."""
    remedy = "give the city's root-key.pem"
    try:
        data = read_limited(path, MAX_ROOT_KEY_FILE, "The root key file", remedy)
    except FileReadError as exc:
        raise TrustListError(str(exc)) from exc
    try:
        return load_public_pem(data)
    except KeyStoreError as exc:
        raise TrustListError(
            f"The root key file {path} is not a P-256 PEM public key; {remedy}."
        ) from exc


def load_root_key(directory: Path) -> ec.EllipticCurvePublicKey:
    _check_dir(Path(directory))
    path = published_dir(directory) / ROOT_KEY_FILE
    try:
        return read_root_key(path)
    except FileNotFoundError as exc:
        raise TrustListError(
            f"There is no city root key at {path}; run 'citycard-api publish' or set up the reader."
        ) from exc


def _recopy(pub: Path) -> str:
    return f"copy the city's published files into {pub} again"


def _clause(exc: Exception) -> str:
    """A sentence as a clause inside another: no capital, no full stop."""
    text = str(exc).rstrip(".")
    return text[:1].lower() + text[1:]


def _why_unusable(exc: TrustListError) -> str:
    """Why parse_trust_list refused a list, as a clause."""
    if isinstance(exc.__cause__, MalformedError):
        return _clause(exc.__cause__)
    return "it is not signed by the pinned city root key"


def _read_trust_list_file(pub: Path) -> bytes:
    path = pub / TRUST_LIST_FILE
    try:
        return read_limited(path, MAX_TRUST_LIST, "The trust list", _recopy(pub))
    except FileNotFoundError as exc:
        raise TrustListError(
            f"There is no trust list at {path}; run 'citycard-api publish' first."
        ) from exc
    except FileReadError as exc:
        raise TrustListError(str(exc)) from exc
    except OSError as exc:
        raise TrustListError(
            f"The trust list {path} cannot be read ({exc.strerror or exc}); check its permissions."
        ) from exc


def _parse_published(data: bytes, root: ec.EllipticCurvePublicKey, pub: Path) -> TrustList:
    """parse_trust_list, with a damaged file named and what to do added."""
    try:
        return parse_trust_list(data, root)
    except TrustListError as exc:
        if isinstance(exc.__cause__, MalformedError):
            raise TrustListError(
                f"The trust list {pub / TRUST_LIST_FILE} cannot be read ({_why_unusable(exc)}); "
                f"{_recopy(pub)}."
            ) from exc
        raise  # not signed by the pinned root: that sentence already says what to do


def load_trust_list(
    directory: Path, root_key: ec.EllipticCurvePublicKey | None = None
) -> TrustList:
    _check_dir(Path(directory))
    pub = published_dir(directory)
    root = root_key or load_root_key(directory)
    return _parse_published(_read_trust_list_file(pub), root, pub)


def _open_cache(root: ec.EllipticCurvePublicKey, cache: Path, problems: list[str]) -> TrustCache:
    """The cache of the last good trust list. A cached copy that does not verify under the
    pinned root (damaged, or another city's) proves nothing, so it is not trusted: it is set
    aside as `.refused`, as the terminal's trust sync does, and the caller's good list takes
    its place. Only called once that list has verified, so a wrong --root-key cannot make a
    reader drop its cache (and with it the refusal of older lists)."""
    path = cache / TrustCache.FILE
    try:
        return TrustCache(root, cache)
    except OSError as exc:
        raise TrustListError(
            f"The cached trust list {path} cannot be read ({exc.strerror or exc}); fix its "
            "permissions or delete it, then try again."
        ) from exc
    except TrustListError as exc:
        refused = path.with_name(path.name + REFUSED_SUFFIX)
        try:
            path.replace(refused)
        except OSError as err:
            raise TrustListError(
                f"The cached trust list {path} cannot be used ({_why_unusable(exc)}) nor set aside "
                f"({err.strerror or err}); delete it, then try again."
            ) from err
        problems.append(
            f"The cached trust list {path} could not be used ({_why_unusable(exc)}); it was set aside "
            f"as {refused.name} and replaced."
        )
        return TrustCache(root, cache)


def _through_cache(
    pub: Path, root: ec.EllipticCurvePublicKey, cache: Path, problems: list[str]
) -> TrustList:
    """The published trust list, unless the cache holds a newer one (then that, with a
    problem saying why); the cached list alone when the published one cannot be used."""
    offered: bytes | None = None
    refusal: TrustListError | None = None
    try:
        offered = _read_trust_list_file(pub)
        _parse_published(offered, root, pub)  # checked before the cache is touched
    except TrustListError as exc:
        offered, refusal = None, exc
    current: TrustList | None = None
    if offered is None:
        # Nothing to replace a damaged cached copy with: the published files are fixed first.
        try:
            current = TrustCache(root, cache).current
        except (TrustListError, OSError):
            current = None
    else:
        tcache = _open_cache(root, cache, problems)
        try:
            return tcache.accept(offered)
        except TrustListError as exc:  # older than the cached one, or the same version changed
            refusal, current = exc, tcache.current
    assert refusal is not None
    if current is None:
        raise refusal
    problems.append(str(refusal))
    return current


def load_verifier(
    directory: Path,
    root_key: ec.EllipticCurvePublicKey | None = None,
    policy: Policy | None = None,
    cache: Path | None = None,
    now: float | None = None,
) -> tuple[Verifier, list[str]]:
    """A verifier from a published directory, and sentences about files it had to refuse.

    Status lists are accepted as of `now` (default: the clock): one dated further ahead than
    the policy's clock skew is refused.

    With `cache`, the trust list goes through a persistent TrustCache so that an older list
    than the one seen before is refused (the cached one is used instead). A cached copy that
    cannot be used is set aside and replaced (see `_open_cache`); one that cannot be written
    raises cardio.files.FileWriteError.
    """
    _check_dir(Path(directory))
    pub = published_dir(directory)
    root = root_key or load_root_key(directory)
    problems: list[str] = []
    if cache is None:
        trust = load_trust_list(pub, root)
    else:
        trust = _through_cache(pub, root, cache, problems)
    verifier = Verifier(trust, policy)
    status_dir = pub / STATUS_DIR
    if status_dir.is_dir():
        for path in sorted(status_dir.glob(f"*{STATUS_SUFFIX}")):
            try:
                data = read_limited(path, DEFAULT_MAX_TOKEN, "The status list", _recopy(pub))
                verifier.add_status_list(data, now)
            except CitycardError as exc:
                problems.append(f"{path.name}: {exc}")
            except OSError as exc:  # one unreadable list must not stop every other check
                problems.append(f"{path.name}: {exc.strerror or exc}; {_recopy(pub)}")
    return verifier, problems
