"""Which language a text is shown in: the fallback rule (`cardio.languages`) for programme texts.

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from cardio.languages import SOURCE_LANGUAGE, best_available, fallback_chain

__all__ = ["SOURCE_LANGUAGE", "Localized", "best_available", "fallback_chain"]

T = TypeVar("T")


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
