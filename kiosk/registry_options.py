"""The command-line options that point a kiosk at the city's issuer API (demo, serve, recover).

    --api URL --kiosk-credential FILE --kiosk-key KEY

Without --api the kiosk uses the in-process allocator on DATA_DIR/issuer (development).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RegistryOptions:
    """Where the kiosk's numbers come from: `api` None means in-process (DATA_DIR/issuer)."""

    api: str | None = None
    credential: Path | None = None
    kiosk_key: Path | None = None
    timeout: float = 10.0


def registry_options(*, signing: bool = True) -> Callable[[F], F]:
    """Add --api, --kiosk-credential (and, with `signing`, --kiosk-key) to a command."""

    def decorate(f: F) -> F:
        if signing:
            f = click.option(
                "--kiosk-key",
                type=click.Path(exists=True, path_type=Path),
                help="With --api: the kiosk's credential-signing key, a PEM file or a key "
                "directory holding <kiosk id>.pem (in development the issuer's DIR/keys).",
            )(f)
        f = click.option(
            "--kiosk-credential",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="With --api: the kiosk credential JSON that 'citycard-api kiosk add' wrote.",
        )(f)
        f = click.option(
            "--api",
            metavar="URL",
            callback=_check_api,
            help="The city's issuer API (citycard-api serve), e.g. https://cards.example.city; "
            "without it numbers come from an issuer in DATA_DIR/issuer.",
        )(f)
        return f

    return decorate


def _check_api(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--api's value, once it is an http(s) address: checked while the options are read, so
    that no command (demo's self-registration included) hands urllib something it rejects
    with a bare ValueError."""
    if value is None:
        return None
    from .http_allocator import IssuerUrlError, issuer_base_url

    try:
        issuer_base_url(value)
    except IssuerUrlError:
        raise click.UsageError(
            f"--api must be the issuer's URL, e.g. https://cards.example.city, not {value!r}."
        ) from None
    return value


def registry_from(
    api: str | None,
    kiosk_credential: Path | None,
    kiosk_key: Path | None = None,
    *,
    signing: bool = True,
) -> RegistryOptions:
    """Check the options together; click.UsageError with a sentence when they do not fit."""
    if api is None:
        if kiosk_credential is not None or kiosk_key is not None:
            raise click.UsageError("--kiosk-credential and --kiosk-key need --api URL.")
        return RegistryOptions()
    if kiosk_credential is None:
        raise click.UsageError(
            "--api needs --kiosk-credential FILE (from 'citycard-api kiosk add --dir ISSUER_DIR "
            "ID --out FILE')."
        )
    if signing and kiosk_key is None:
        raise click.UsageError(
            "--api needs --kiosk-key KEY: the kiosk signs cards with its own key (a PEM file, or "
            "a key directory holding <kiosk id>.pem)."
        )
    return RegistryOptions(api, kiosk_credential, kiosk_key)
