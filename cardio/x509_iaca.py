"""IACA-style certificates (ISO/IEC 18013-5 Annex B) for the city root and its kiosk keys.

The city's root key, the one readers pin, is also an IACA (issuing authority CA) certificate,
self-signed; each kiosk key gets a document-signer certificate under it, which an mdoc
carries in `x5chain` and an SD-JWT VC in `x5c`. Verifiers that trust by certificate (wallet
and mdoc libraries) can use them; citycard's own readers still trust by the trust list that
the same root signs, and check that a certificate's IACA is the pinned root key.

Certificates are built by `cryptography.x509` and signed through a `Signer` (a root key in an
HSM never leaves it): the builder signs the to-be-signed part with a throwaway key, then the
signature is made again by the real key over the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from .errors import MalformedError, TrustListError
from .keys import Signer, der_from_raw, point_bytes

MDL_DS_EKU = ObjectIdentifier("1.0.18013.5.1.2")
"""id-mdl-kp-mdlDS: the extended key usage of an mdoc document signer."""
_ECDSA_SHA256_ALG = bytes.fromhex("300a06082a8648ce3d040302")


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _resign(cert: x509.Certificate, signer: Signer) -> x509.Certificate:
    """`cert` with its signature made by `signer` over the same to-be-signed bytes."""
    sig = der_from_raw(signer.sign(cert.tbs_certificate_bytes))
    bit_string = b"\x03" + _der_length(len(sig) + 1) + b"\x00" + sig
    body = cert.tbs_certificate_bytes + _ECDSA_SHA256_ALG + bit_string
    return x509.load_der_x509_certificate(b"\x30" + _der_length(len(body)) + body)


def _time(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _name(common_name: str, country: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def iaca_certificate(
    root: Signer,
    issuer: str,
    not_before: int,
    not_after: int,
    *,
    country: str = "ZZ",
    issuer_uri: str | None = None,
) -> x509.Certificate:
    """The self-signed IACA certificate of the city root key.

    `country` is the ISO 3166 code ISO 18013-5 asks for (ZZ, user-assigned, when not given);
    `issuer_uri` (the city's published files) goes into IssuerAlternativeName.
    """
    name = _name(f"{issuer} IACA", country)
    alt = [x509.UniformResourceIdentifier(issuer_uri or f"urn:citycard:issuer:{issuer}")]
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(root.public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_time(not_before))
        .not_valid_after(_time(not_after))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root.public_key), critical=False)
        .add_extension(x509.IssuerAlternativeName(alt), critical=False)
    )
    return _resign(builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()), root)


def document_signer_certificate(
    root: Signer,
    iaca: x509.Certificate,
    signer_key: ec.EllipticCurvePublicKey,
    label: str,
    not_before: int,
    not_after: int,
) -> x509.Certificate:
    """A document-signer certificate for one kiosk key, issued by the IACA (within its
    validity)."""
    country = iaca.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    start = max(_time(not_before), iaca.not_valid_before_utc)
    end = min(_time(not_after), iaca.not_valid_after_utc)
    alt = iaca.extensions.get_extension_for_class(x509.IssuerAlternativeName).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} document signer", str(country)))
        .issuer_name(iaca.subject)
        .public_key(signer_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(max(start, end))
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([MDL_DS_EKU]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key), critical=False)
        .add_extension(x509.IssuerAlternativeName(list(alt)), critical=False)
    )
    return _resign(builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()), root)


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
        crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def to_pem(certs: list[x509.Certificate]) -> bytes:
    """The certificates as PEM, in the order given (IACA first, then its document signers)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_pem(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM text; MalformedError when there are none or one is unreadable."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise MalformedError("The certificate file cannot be read; publish it again.") from exc
    return certs


def check_document_signer(
    cert: x509.Certificate, iaca: x509.Certificate, root_key: ec.EllipticCurvePublicKey
) -> None:
    """TrustListError unless `iaca` is the pinned root key's and signed `cert` for mdoc use."""
    iaca_key = iaca.public_key()
    if not isinstance(iaca_key, ec.EllipticCurvePublicKey) or point_bytes(iaca_key) != point_bytes(
        root_key
    ):
        raise TrustListError("The IACA certificate is not the pinned city root key's.")
    try:
        cert.verify_directly_issued_by(iaca)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise TrustListError("The document-signer certificate is not signed by the IACA.") from exc
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or MDL_DS_EKU not in usage:
        raise TrustListError("The certificate is not a document signer's.")
