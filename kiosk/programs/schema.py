"""The programme profile schema: which tables and keys a profile has, the shapes of their
values, and the names no profile may use.

A key table maps each key of a TOML table to whether it is required; `kiosk.programs.reader`
reports any other key (with a suggestion) and the section checkers report missing ones.
`docs/programs.md` describes every key.
"""

from __future__ import annotations

import re
import unicodedata

from .model import ProofKind

# --- value shapes --------------------------------------------------------------------------

CODE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}\Z")
# BCP 47 in canonical case, the subset citycard uses: language (2-3 letters), optional script
# (Title case), optional region (2 capitals or 3 digits), optional variants: en, pt-BR, zh-Hant,
# ase (American Sign Language), ca-ES-valencia.
LANGUAGE_RE = re.compile(
    r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-(?:[A-Z]{2}|[0-9]{3}))?(-(?:[0-9a-z]{5,8}|[0-9][0-9a-z]{3}))*\Z"
)
COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{6}\Z")
COUNTRY_RE = re.compile(r"[A-Z]{2}\Z")
CURRENCY_RE = re.compile(r"[A-Z]{3}\Z")
PHONE_RE = re.compile(r"\+?[0-9][0-9 ()./-]{2,30}\Z")
WEB_RE = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?\Z")
AMOUNT_RE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?\Z")
SEXES = ("F", "M", "X")
MAX_ENTITLEMENTS = 16  # the credential carries at most 16 (cardio.credential.Holder)
MAX_TEXT = 200  # characters of a text value, unless a key allows more
MAX_AUDIENCE = 500
MAX_NOTES = 4000
MAX_OUT_OF_SCOPE = 2000

# Every field a kiosk may collect. Whatever is collected is printed on the card; the chip holds
# a subset of what is printed (family and given name, birth date, sex, photo). The values are
# the English labels, which are message ids: kiosk.i18n_rules gives them as `field.<code>`
# messages and translates them.
FIELDS: dict[str, str] = {
    "family_name": "family name",
    "given_name": "given name",
    "birth_date": "birth date",
    "photo": "photo",
    "signature": "signature",
    "sex": "sex",
    "address": "address",
    "emergency_contact": "emergency contact",
    "medical_info": "medical conditions and allergies",
    "eye_colour": "eye colour",
    "hair_colour": "hair colour",
    "height": "height",
    "weight": "weight",
    "organ_donor": "organ donor",
    "veteran": "veteran",
    "preferred_language": "preferred language",
    "sponsor": "sponsor's name and contact",
    "integration_evidence": "evidence of integration",
    "issuer_name": "issuing organisation",
    "shelter_name": "shelter",
    "ngo_phone": "organisation's phone number",
}
# The credential always carries these (docs/credential.md), so every programme requires them.
CREDENTIAL_FIELDS = ("family_name", "given_name", "birth_date")

# --- tables and keys (key -> required) -----------------------------------------------------

TOP_KEYS = {
    "assumed": False,
    "notes": False,
    "out_of_scope": False,
    "sources": False,
    "names": True,
    "issuer": True,
    "eligibility": True,
    "proof": True,
    "documents": False,
    "fees": True,
    "validity": True,
    "fields": True,
    "languages": True,
    "card": True,
    "entitlements": False,
}
ISSUER_KEYS = {
    "city": True,
    "country": True,
    "authority": True,
    "kind": False,
    "stage": True,
    "since": False,
    # Where residents reach the programme (printed on the receipt): the office (in words,
    # per language), a phone number, the web address, and the lost-card page (default
    # <web>/lost; the receipt's QR code opens it with ?doc=<document number>).
    "office": False,
    "phone": False,
    "web": False,
    "lost_url": False,
}
ELIGIBILITY_KEYS = {
    "minimum_age": True,
    "guardian_age": False,
    "guardian_outcome": False,
    "residence_days": True,
    "audience": False,
}
DOCUMENT_KEYS = {  # [documents.<code>]
    "names": True,
    "examples": True,
    "proves": True,
    "photo": False,
    "birth_date": False,
    "dated": False,
    "identity_points": False,
    "residence_points": False,
    "tier": False,
    "attendant_check": False,
}
# [proof]: the keys every rule has, and those of each rule.
PROOF_COMMON = {"rule", "insufficient", "photo", "birth_date", "residence_max_age_days"}
PROOF_KEYS = {
    ProofKind.POINTS: {"identity_points", "residence_points", "total_points"},
    ProofKind.PRIMARY_SECONDARY: {"secondary_count", "residence"},
    ProofKind.CATEGORIES: {"identity", "residence", "eligibility"},
}
PROOF_REQUIRED = ("rule", "insufficient")
FEES_KEYS = {
    "currency": True,
    "first_card": True,
    "renewal": False,
    "replacement": True,
    "reductions": False,
}
REDUCTION_KEYS = {  # [[fees.reductions]]
    "claim": True,
    "amount": True,
    "applies_to": False,
    "under_age": False,
    "from_age": False,
}
VALIDITY_KEYS = {"years": True, "by_age": False, "until": False, "renewal_window_days": False}
AGE_VALIDITY_KEYS = {"under": True, "years": True}  # [[validity.by_age]]
FIELDS_KEYS = {"required": True, "optional": True, "forbidden": True, "sex_values": False}
LANGUAGES_KEYS = {"offered": True}
CARD_KEYS = {"profile": True, "design": True}
DESIGN_KEYS = {  # [card.design]
    "display_name": True,
    "languages": True,
    "primary_colour": True,
    "secondary_colour": True,
    "arms": True,
    "disclaimer": False,  # required, but reported with a clearer message of its own
    "signature": True,
}
ENTITLEMENT_KEYS = {"names": True}  # [entitlements.<code>]

# --- names no profile may use --------------------------------------------------------------

# Names that must never be a field or a key anywhere: the card never holds residence status,
# nationality or birthplace. Compared after folding case and accents and turning spaces, dots
# and hyphens into underscores.
_FORBIDDEN_EXACT = frozenset({"status", "origin", "nationality", "citizenship", "birthplace"})
_FORBIDDEN_PARTS = (
    "nationalit",
    "citizenship",
    "staatsangeh",
    "staatsburger",
    "nacionalidad",
    "birthplace",
    "birth_place",
    "place_of_birth",
    "country_of_birth",
    "born_in",
    "lieu_de_naissance",
    "geburtsort",
    "lugar_de_nacimiento",
    "heimatort",
    "place_of_origin",
    "country_of_origin",
    "pays_d_origine",
    "herkunft",
    "immigration",
    "migration_status",
    "residence_status",
    "residency_status",
    "resident_status",
    "legal_status",
    "visa_status",
    "aufenthalt",
    "titre_de_sejour",
    "residence_permit",
    "status_of_residence",
    "sans_papiers",
    "undocumented",
    "irregular",
)


def is_forbidden_name(name: str) -> bool:
    """True for a name that denotes residence status, nationality or birthplace (never kept)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    norm = re.sub(r"[\s.\-']+", "_", folded.strip().lower())
    return norm in _FORBIDDEN_EXACT or any(part in norm for part in _FORBIDDEN_PARTS)
