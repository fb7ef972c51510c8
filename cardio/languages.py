"""The languages citycard speaks, and the one rule for which of them answers a language tag.

Every deployable that shows text to a person (the kiosk, the issuer's lost-card page and service
desk, the venue's staff screen, the phone pages) offers the same languages: `LANGUAGES`, each
with its name in itself and its writing direction. Each keeps its own gettext catalogues (a
deployable ships only its own texts); this module is the list they share and the fallback rule.

A text that is not available in a tag such as `pt-BR` is looked up, in this order:

1. the tag itself (`pt-BR`),
2. its base language (`pt`) — except Traditional Chinese (`zh-Hant`, `zh-TW`, `zh-HK`, `zh-MO`,
   `zh-Hant-*`), which goes to `zh-Hant` and never to `zh`, the Simplified catalogue,
3. the programme's first language (Zurich: `de`), when a programme is known,
4. English (`en`), the language every catalogue and profile is written in first.

Tags are compared without regard to case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "BY_CODE",
    "LANGUAGES",
    "SOURCE_LANGUAGE",
    "Language",
    "best_available",
    "fallback_chain",
    "match",
]

@dataclass(frozen=True, slots=True)
class Language:
    code: str  # BCP 47 tag, also the catalogue folder name
    name: str  # the language's name in itself
    rtl: bool = False

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


# Every language offered, in the order the kiosk's start page shows them (a programme's own
# languages are moved to the front): every written language a seed programme lists.
LANGUAGES: tuple[Language, ...] = (
    Language("en", "English"),
    Language("fr", "Français"),
    Language("de", "Deutsch"),
    Language("it", "Italiano"),
    Language("es", "Español"),
    Language("pt", "Português"),
    Language("ar", "العربية", rtl=True),
    Language("fa", "فارسی", rtl=True),
    Language("ti", "ትግርኛ"),
    Language("uk", "Українська"),
    Language("tr", "Türkçe"),
    Language("zh", "简体中文"),  # Simplified Chinese; zh-Hans and zh-CN fall back to it
    Language("zh-Hant", "繁體中文"),
    Language("ko", "한국어"),
    Language("ja", "日本語"),
    Language("ru", "Русский"),
    Language("pl", "Polski"),
    Language("ro", "Română"),
    Language("nl", "Nederlands"),
    Language("ca", "Català"),
    Language("el", "Ελληνικά"),
    Language("bn", "বাংলা"),
    Language("hi", "हिन्दी"),
    Language("ne", "नेपाली"),
    Language("pa", "ਪੰਜਾਬੀ"),
    Language("ur", "اردو", rtl=True),
    Language("ta", "தமிழ்"),
    Language("ps", "پښتو", rtl=True),
    Language("he", "עברית", rtl=True),
    Language("yi", "ייִדיש", rtl=True),
    Language("ht", "Kreyòl ayisyen"),
    Language("vi", "Tiếng Việt"),
    Language("tl", "Tagalog"),
    Language("sq", "Shqip"),
    Language("sr", "Српски"),
    Language("so", "Soomaali"),
    Language("am", "አማርኛ"),
    Language("wo", "Wolof"),
    Language("ff", "Pulaar"),
)
BY_CODE: Mapping[str, Language] = {lang.code: lang for lang in LANGUAGES}


SOURCE_LANGUAGE = "en"

# Chinese written in Traditional characters (script Hant, or Taiwan, Hong Kong, Macao without a
# script): its base language `zh` is Simplified Chinese, so it must never fall back to it (a
# Taiwanese or Hong Kong resident reads Traditional; Simplified is the wrong script).
_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})


def _traditional_chinese(language: str) -> bool:
    primary, *rest = language.lower().replace("_", "-").split("-")
    if primary != "zh":
        return False
    if "hans" in rest:
        return False
    return "hant" in rest or bool(_TRADITIONAL_REGIONS.intersection(rest))


def _own_tags(language: str) -> list[str]:
    """Steps 1 and 2 of the rule: the tag itself, Traditional Chinese, its base language."""
    chain = [language]
    traditional = _traditional_chinese(language)
    if traditional:
        chain.append("zh-Hant")
    base = language.split("-", 1)[0]
    if base != language and not traditional:
        chain.append(base)
    return chain


def _unique(tags: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.lower(), tag)
    return tuple(seen.values())


def fallback_chain(language: str, programme_languages: Sequence[str] = ()) -> tuple[str, ...]:
    """The tags to try for `language`, best first (see the module documentation)."""
    return _unique([*_own_tags(language), *programme_languages[:1], SOURCE_LANGUAGE])


def best_available(
    language: str, available: Iterable[str], programme_languages: Sequence[str] = ()
) -> str | None:
    """The first tag of the fallback chain that `available` has (as `available` spells it)."""
    by_lower = {a.lower(): a for a in available}
    for tag in fallback_chain(language, programme_languages):
        if tag.lower() in by_lower:
            return by_lower[tag.lower()]
    return None


def match(tag: str, available: Iterable[str]) -> str | None:
    """The language of `available` that answers `tag` by steps 1 and 2 of the rule (no
    programme, no English), as `available` spells it; None when none does."""
    by_lower = {a.lower(): a for a in available}
    # Not fallback_chain()[:-1]: for English itself that would drop the tag asked for.
    for candidate in _unique(_own_tags(tag.strip().replace("_", "-"))):
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    return None
