"""Sentences made from a template: English text that keeps how it was made, for screens to say
in their own language.

A warning or status with details in it ("The reader has no revocation list 1; ...", "The holder
did not share: photo, entitlement:pool.") is a `FilledSentence`: a `str`, so the JSON API, the
command lines and the logs see the English, that keeps its template and the values filled in.
A screen (the reader terminal's `api.terminal.screen_text.sentence`) translates the template,
then fills in the values in its own words: `params` as they are (list ids, names), `ages`
(durations in seconds: "3 days ago") and `lists` (item codes the screen names itself, joined
with its own list separator; in English each code as it is, joined by ", ").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LIST_SEPARATOR = ", "
"""Between the items of a list in the English of a `FilledSentence`."""


class FilledSentence(str):
    """A sentence filled in from a template: the English text it reads as, with the template
    and its values kept (`params`, `ages`, `lists`: see the module's docstring)."""

    template: str
    params: dict[str, str | int]
    ages: dict[str, float]
    lists: dict[str, tuple[str, ...]]

    def __new__(
        cls,
        template: str,
        params: Mapping[str, str | int] | None = None,
        ages: Mapping[str, float] | None = None,
        lists: Mapping[str, Iterable[str]] | None = None,
    ) -> FilledSentence:
        kept = {key: tuple(items) for key, items in (lists or {}).items()}
        values: dict[str, object] = {**(params or {})}
        values.update({key: ago(seconds) for key, seconds in (ages or {}).items()})
        values.update({key: LIST_SEPARATOR.join(items) for key, items in kept.items()})
        sentence = super().__new__(cls, template % values if values else template)
        sentence.template = template
        sentence.params = dict(params or {})
        sentence.ages = dict(ages or {})
        sentence.lists = kept
        return sentence


def ago(seconds: float) -> str:
    """How long ago, in English (the staff screen says it in its language:
    `api.terminal.screen_text.ago`, whose English is this)."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s ago"
    if s < 2 * 3600:
        return f"{s // 60} min ago"
    if s < 2 * 86400:
        return f"{s // 3600} h ago"
    return f"{s // 86400} days ago"
