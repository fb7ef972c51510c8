"""What is wrong with a programme profile: one `ProfileProblem` per mistake, all of a file
at once (`ProgramError`).

Each problem names the file, the dotted key and the fix, and reads as one line:

    programs/zurich.toml: validity.years must be a whole number of years between 1 and 10,
    e.g. validity.years = 5

These are for the technician who writes the profile, so they are in English.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cardio.errors import CitycardError


@dataclass(frozen=True)
class ProfileProblem:
    """One mistake in a profile file, with the fix a technician applies."""

    file: str
    key: str  # dotted path, e.g. "fees.reductions[0].amount"; "" for the file as a whole
    problem: str  # what is wrong, e.g. "must be a whole number of years between 1 and 10"
    fix: str  # what to do, e.g. "e.g. validity.years = 5"

    def __str__(self) -> str:
        subject = f"{self.key} " if self.key else ""
        return f"{self.file}: {subject}{self.problem}, {self.fix}"


class ProgramError(CitycardError):
    """A programme profile that cannot be used. Every problem names the file, key and fix."""

    def __init__(self, problems: Iterable[ProfileProblem]) -> None:
        self.problems: tuple[ProfileProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
