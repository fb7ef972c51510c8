"""Reading a directory of published files: what a reader needs to verify offline.

Layout, as `citycard-api publish` writes it:
  root-key.pem        the city root public key (pinned by fingerprint at provisioning)
  trust-list.cose     the root-signed trust list
  status/<id>.cwt     one Token Status List per list id
An issuer directory holds the same files under `public/`; either may be given.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from .errors import CitycardError, KeyStoreError, TrustListError
from .keys import load_public_pem
from .trustlist import TrustCache, TrustList, parse_trust_list
from .verify import Policy, Verifier

ROOT_KEY_FILE = "root-key.pem"
TRUST_LIST_FILE = "trust-list.cose"
STATUS_DIR = "status"
STATUS_SUFFIX = ".cwt"


def published_dir(directory: Path) -> Path:
    """The folder holding the published files, for an issuer or a published directory."""
    directory = Path(directory)
    if (directory / "issuer.json").is_file():
        return directory / "public"
    return directory


def load_root_key(directory: Path) -> ec.EllipticCurvePublicKey:
    path = published_dir(directory) / ROOT_KEY_FILE
    try:
        return load_public_pem(path.read_bytes())
    except FileNotFoundError as exc:
        raise TrustListError(
            f"There is no city root key at {path}; run 'citycard-api publish' or set up the reader."
        ) from exc
    except KeyStoreError as exc:
        raise TrustListError(f"{path}: {exc}") from exc


def load_trust_list(
    directory: Path, root_key: ec.EllipticCurvePublicKey | None = None
) -> TrustList:
    pub = published_dir(directory)
    root = root_key or load_root_key(directory)
    path = pub / TRUST_LIST_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise TrustListError(
            f"There is no trust list at {path}; run 'citycard-api publish' first."
        ) from exc
    return parse_trust_list(data, root)


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
    than the one seen before is refused (the cached one is used instead).
    """
    pub = published_dir(directory)
    root = root_key or load_root_key(directory)
    problems: list[str] = []
    if cache is None:
        trust = load_trust_list(pub, root)
    else:
        tcache = TrustCache(root, cache)
        try:
            trust = tcache.accept((pub / TRUST_LIST_FILE).read_bytes())
        except (TrustListError, OSError) as exc:
            if tcache.current is None:
                raise TrustListError(str(exc)) from exc
            problems.append(str(exc))
            trust = tcache.current
    verifier = Verifier(trust, policy)
    status_dir = pub / STATUS_DIR
    if status_dir.is_dir():
        for path in sorted(status_dir.glob(f"*{STATUS_SUFFIX}")):
            try:
                verifier.add_status_list(path.read_bytes(), now)
            except CitycardError as exc:
                problems.append(f"{path.name}: {exc}")
    return verifier, problems
