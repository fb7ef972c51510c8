"""Which language a text is shown in: the one fallback rule of the kiosk.

A resident picks a language (a BCP 47 tag such as `pt-BR`, `zh-Hant` or `fr`). A text that is
not available in it is looked up, in this order:

1. the tag itself (`pt-BR`),
2. its base language (`pt`),
3. the programme's first language (Zurich: `de`),
4. English (`en`), the language every catalogue and profile is written in first.

Tags are compared without regard to case. The same rule serves the gettext catalogues and the
texts a programme profile carries (`Localized`), so a resident never sees one screen in
European Portuguese and the next in English.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

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


def fallback_chain(language: str, programme_languages: Sequence[str] = ()) -> tuple[str, ...]:
    """The tags to try for `language`, best first (see the module documentation)."""
    chain = [language]
    traditional = _traditional_chinese(language)
    if traditional:
        chain.append("zh-Hant")
    base = language.split("-", 1)[0]
    if base != language and not traditional:
        chain.append(base)
    if programme_languages:
        chain.append(programme_languages[0])
    chain.append(SOURCE_LANGUAGE)
    seen: dict[str, str] = {}
    for tag in chain:
        seen.setdefault(tag.lower(), tag)
    return tuple(seen.values())


def best_available(
    language: str, available: Iterable[str], programme_languages: Sequence[str] = ()
) -> str | None:
    """The first tag of the fallback chain that `available` has (as `available` spells it)."""
    by_lower = {a.lower(): a for a in available}
    for tag in fallback_chain(language, programme_languages):
        if tag.lower() in by_lower:
            return by_lower[tag.lower()]
    return None


@dataclass(frozen=True)
class Localized(Generic[T]):
    """A value per language tag, as a programme profile gives it (data, not code)."""

    items: tuple[tuple[str, T], ...]

    def get(self, language: str = SOURCE_LANGUAGE, programme_languages: Sequence[str] = ()) -> T:
        """The value for `language` under the fallback rule; the first value when none fits."""
        tag = best_available(language, (k for k, _ in self.items), programme_languages)
        for k, v in self.items:
            if k == tag:
                return v
        return self.items[0][1]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.items)

    def as_dict(self) -> dict[str, T]:
        return dict(self.items)
