"""Loading programme profiles: `programs/<id>.toml` read, checked and built into a `Program`.

The checks are hand-written (no schema library) so that every problem names the file, the
dotted key and the fix, and all problems of a file are reported at once (`ProgramError`). Each
section of a profile has its own checker (`kiosk.programs.check_*`); this module reads the
file and runs them in the order of the profile.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from .check_card import check_card, check_entitlements
from .check_fees import check_fees, check_validity
from .check_fields import check_fields
from .check_issuer import check_eligibility, check_issuer
from .check_meta import check_meta
from .check_proof import check_documents, check_proof, check_proof_rule
from .model import Program
from .problems import ProfileProblem, ProgramError
from .reader import ProfileReader, Table
from .schema import CODE_RE, LANGUAGES_KEYS, TOP_KEYS

PROGRAMS_DIR = Path(__file__).resolve().parent.parent.parent / "programs"


def load_program(id_or_path: str | Path, directory: Path | None = None) -> Program:
    """Load and validate one profile: a programme id (looked up in `directory`, by default the
    repository's programs/) or a path to a .toml file. Raises ProgramError."""
    path = _resolve(id_or_path, directory)
    return _load_file(path)


def load_all(directory: Path | None = None) -> dict[str, Program]:
    """Load every `*.toml` in `directory` (default programs/). Raises one ProgramError that lists
    the problems of every broken file."""
    directory = PROGRAMS_DIR if directory is None else Path(directory)
    if not directory.is_dir():
        where = _display(directory)
        raise _file_error(where, "is not a directory", "point to the programs/ folder")
    programs: dict[str, Program] = {}
    problems: list[ProfileProblem] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            program = _load_file(path)
        except ProgramError as exc:
            problems.extend(exc.problems)
        else:
            programs[program.id] = program
    if problems:
        raise ProgramError(problems)
    return programs


def _resolve(id_or_path: str | Path, directory: Path | None) -> Path:
    if isinstance(id_or_path, Path) or "/" in id_or_path or id_or_path.endswith(".toml"):
        return Path(id_or_path)
    if not CODE_RE.match(id_or_path):
        raise _file_error(
            repr(id_or_path),
            "is not a programme id",
            "use a lower-case id such as 'zurich' or 'new-york', or a path to a .toml file",
        )
    return (PROGRAMS_DIR if directory is None else Path(directory)) / f"{id_or_path}.toml"


def _file_error(file: str, problem: str, fix: str) -> ProgramError:
    """A problem with the file as a whole (it cannot be found or read)."""
    return ProgramError([ProfileProblem(file, "", problem, fix)])


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load_file(path: Path) -> Program:
    file = _display(path)
    if path.suffix != ".toml":
        raise _file_error(file, "is not a .toml file", "name it programs/<id>.toml")
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise _file_error(
            file, "does not exist", "check the programme id or path (see programs/)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _file_error(
            file, f"cannot be read ({exc.__class__.__name__})", "save it as UTF-8 text"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = f"is not valid TOML ({exc})"
        raise _file_error(file, problem, "fix the syntax at that line") from None
    return check_program(ProfileReader(file, path), path.stem, data)


def check_program(r: ProfileReader, program_id: str, data: Table) -> Program:
    """The `Program` that `data` (a parsed profile) describes; raises ProgramError listing
    every problem of the file."""
    if not CODE_RE.match(program_id):
        r.add(
            "",
            f"has a file name that is not a programme id ({program_id!r})",
            "rename it to lower-case letters, digits and hyphens, e.g. programs/new-york.toml",
        )
    r.scan_forbidden(data, "")
    r.keys(data, "", TOP_KEYS)

    names = r.localized(data, "", "names", "Züri City Card")
    issuer = check_issuer(r, data)
    eligibility = check_eligibility(r, data)
    proof_table, rule = check_proof_rule(r, data)
    documents = check_documents(r, data, rule)
    proof = check_proof(r, proof_table, rule, documents) if proof_table is not None else None
    fees = check_fees(r, data)
    validity = check_validity(r, data)
    languages = _check_languages(r, data)
    card = check_card(r, data)
    fields = check_fields(r, data, card)
    entitlements = check_entitlements(r, data)
    assumed, notes, sources, out_of_scope = check_meta(r, data)

    if r.problems:
        raise ProgramError(r.problems)
    assert names and issuer and eligibility and proof and fees and validity
    assert card and fields is not None
    return Program(
        id=program_id,
        source=r.path.resolve(),
        names=names,
        issuer=issuer,
        eligibility=eligibility,
        proof=proof,
        documents=documents,
        fees=fees,
        validity=validity,
        fields=fields,
        languages=languages,
        card=card,
        entitlements=entitlements,
        assumed=assumed,
        notes=notes,
        sources=sources,
        out_of_scope=out_of_scope,
    )


def _check_languages(r: ProfileReader, data: Table) -> tuple[str, ...]:
    """`[languages] offered`: the languages the kiosk offers for this programme."""
    t = r.table(data, "", "languages")
    if t is None:
        return ()
    r.keys(t, "languages", LANGUAGES_KEYS)
    return r.languages(t, "languages", "offered", ["en", "fr"])
