"""`citycard-api` given inputs that once broke it: a damaged issuer.json or registry, a missing
registry, an output file it cannot write, settings that make an issuer unusable, options that
were silently ignored. Each is refused with one "Error: ..." sentence (exit 2) before anything
is made, never a traceback and never a duplicate document number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from api.issuer.errors import IssuerError
from api.issuer.registry import SQLITE_FILE, RegistryError
from api.issuer.service import Issuer
from cardio.credential import Holder
from tests import test_cli
from tests.api_fixtures import BACKENDS, fixture_database_url  # noqa: F401 - fixture
from tests.conftest import NOW
from tests.test_cli import api, cards_in_registry, one_error_line

issuer_dir = test_cli.issuer_dir  # the fixtures of tests/test_cli.py, shared
resident_file = test_cli.resident_file

PROC = Path("/proc")
needs_proc = pytest.mark.skipif(not PROC.is_dir(), reason="no /proc (not Linux)")


def issue_args(directory: Path, resident: Path, out: Path) -> list[object]:
    return ["issue", "--dir", directory, "--resident", resident, "--out", out]


def first_card(directory: Path, resident: Path, tmp_path: Path) -> str:
    result = api(*issue_args(directory, resident, tmp_path / "first.cose"))
    assert result.exit_code == 0, result.output
    assert "Document number: DEV00000018" in result.stdout
    return "DEV00000018"


def registry_file(directory: Path) -> Path:
    return (directory / SQLITE_FILE).resolve()


def remove_registry(directory: Path) -> None:
    for path in directory.glob(f"{SQLITE_FILE}*"):
        path.unlink()


# -- 1. issuer.json of the wrong shape ----------------------------------------------------------


def _drop(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda config: {k: v for k, v in config.items() if k != key}


def _set(key: str, value: object) -> Callable[[dict[str, Any]], Any]:
    return lambda config: {**config, key: value}


WRONG_SHAPES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "a list": lambda _config: [],
    "no keys": _drop("keys"),
    "keys a text": _set("keys", "x"),
    "validity a text": _set("default_validity_days", "abc"),
    "a key entry a number": _set("keys", [1]),
    "no status lists": _set("status_lists", []),
    "keystore a text": _set("keystore", "x"),
}


@pytest.mark.parametrize("shape", sorted(WRONG_SHAPES))
@pytest.mark.parametrize("command", ["issue", "publish", "kiosk-list"])
def test_issuer_json_of_the_wrong_shape_is_a_sentence(
    issuer_dir: Path, resident_file: Path, tmp_path: Path, shape: str, command: str
) -> None:
    path = issuer_dir / "issuer.json"
    config = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps(WRONG_SHAPES[shape](config)), "utf-8")
    args: dict[str, list[object]] = {
        "issue": issue_args(issuer_dir, resident_file, tmp_path / "card.cose"),
        "publish": ["publish", "--dir", issuer_dir],
        "kiosk-list": ["kiosk", "list", "--dir", issuer_dir],
    }
    result = api(*args[command])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert f"{path} is damaged (" in line and line.endswith("; restore it from backup."), line
    assert not (tmp_path / "card.cose").exists()


def test_the_issuer_class_refuses_a_wrong_shape(issuer_dir: Path) -> None:
    path = issuer_dir / "issuer.json"
    config = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps({**config, "default_validity_days": "abc"}), "utf-8")
    with pytest.raises(IssuerError, match=r"'default_validity_days' is not a whole number"):
        Issuer(issuer_dir)


# -- 2. a damaged registry file -----------------------------------------------------------------


def _random_bytes(directory: Path) -> None:
    # Not a database at all (a fixed pattern: the same bytes on every run).
    registry_file(directory).write_bytes(bytes(range(251)) * 20)


def _truncated(directory: Path) -> None:
    path = registry_file(directory)
    path.write_bytes(path.read_bytes()[:4096])


@pytest.mark.parametrize("damage", [_random_bytes, _truncated], ids=["random", "truncated"])
@pytest.mark.parametrize("command", ["issue", "publish", "db-upgrade", "serve"])
def test_a_damaged_registry_is_a_sentence_naming_it(
    issuer_dir: Path,
    resident_file: Path,
    tmp_path: Path,
    damage: Callable[[Path], None],
    command: str,
) -> None:
    first_card(issuer_dir, resident_file, tmp_path)  # a registry with a card in it
    damage(issuer_dir)
    args: dict[str, list[object]] = {
        "issue": issue_args(issuer_dir, resident_file, tmp_path / "card.cose"),
        "publish": ["publish", "--dir", issuer_dir],
        "db-upgrade": ["db", "upgrade", "--dir", issuer_dir],
        "serve": ["serve", "--dir", issuer_dir, "--port", 0],
    }
    result = api(*args[command])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert f"The registry {registry_file(issuer_dir)} is damaged (" in line, line
    assert line.endswith("; restore it from backup."), line


# -- 3. a missing or empty registry -------------------------------------------------------------


@pytest.mark.parametrize("what", ["missing", "empty"])
@pytest.mark.parametrize("command", ["issue", "publish", "db-upgrade", "staff-add"])
def test_a_missing_registry_is_not_made_again(
    issuer_dir: Path, resident_file: Path, tmp_path: Path, what: str, command: str
) -> None:
    first_card(issuer_dir, resident_file, tmp_path)
    remove_registry(issuer_dir)
    if what == "empty":
        registry_file(issuer_dir).touch()
    args: dict[str, list[object]] = {
        "issue": issue_args(issuer_dir, resident_file, tmp_path / "again.cose"),
        "publish": ["publish", "--dir", issuer_dir],
        "db-upgrade": ["db", "upgrade", "--dir", issuer_dir],
        "staff-add": ["staff", "add", "--dir", issuer_dir, "desk-1"],
    }
    result = api(*args[command])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert f"The registry {registry_file(issuer_dir)} is {what}; restore it from backup" in line
    assert "DEV00000018" not in result.stdout  # the first card's number is not given out again
    assert not (tmp_path / "again.cose").exists()
    if what == "missing":
        assert not registry_file(issuer_dir).exists()
    else:
        assert registry_file(issuer_dir).stat().st_size == 0


def test_the_issuer_class_refuses_a_missing_registry(tmp_path: Path, holder: Holder) -> None:
    issuer = Issuer.init(tmp_path / "issuer", now=NOW)
    issuer.issue(holder, now=NOW)
    issuer.close()
    remove_registry(issuer.dir)
    again = Issuer(issuer.dir)
    with pytest.raises(RegistryError, match=r"registry\.sqlite is missing; restore it from backup"):
        again.issue(holder, now=NOW)
    again.close()
    assert not registry_file(issuer.dir).exists()


@pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)
def test_an_empty_postgresql_registry_is_not_filled_again(
    issuer_dir: Path, resident_file: Path, tmp_path: Path, database_url: str
) -> None:
    first_card(issuer_dir, resident_file, tmp_path)
    # server.toml now names an empty database (a wrong URL, or one restored without its rows).
    (issuer_dir / "server.toml").write_text(f"[database]\nurl = {json.dumps(database_url)}\n")
    result = api(*issue_args(issuer_dir, resident_file, tmp_path / "again.cose"))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert " is empty; restore it from backup" in line and "server.toml" in line, line
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    engine.dispose()


def test_init_still_makes_the_registry_and_db_upgrade_takes_it(issuer_dir: Path) -> None:
    assert registry_file(issuer_dir).is_file()
    result = api("db", "upgrade", "--dir", issuer_dir)
    assert result.exit_code == 0, result.output
    assert "is up to date" in result.stdout


# -- 4. an output file that cannot be written ---------------------------------------------------


def _unwritable_outputs(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    outputs = {
        "no such directory": tmp_path / "nowhere" / "out.json",
        "under a file": a_file / "out.json",
    }
    if PROC.is_dir():
        outputs["in /proc"] = PROC / "citycard-out.json"
    return outputs


UNWRITABLE = ["no such directory", "under a file", pytest.param("in /proc", marks=needs_proc)]


@pytest.mark.parametrize("where", UNWRITABLE)
@pytest.mark.parametrize("option", ["--out", "--print-out"])
def test_issue_checks_its_output_before_issuing(
    issuer_dir: Path, resident_file: Path, tmp_path: Path, where: str, option: str
) -> None:
    bad = _unwritable_outputs(tmp_path)[where]
    good = tmp_path / "card.cose"
    args = issue_args(issuer_dir, resident_file, bad if option == "--out" else good)
    if option == "--print-out":
        args += ["--variant", "chip", "--chip-uid", "04A1B2C3D4E5F6", "--print-out", bad]
    result = api(*args)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert str(bad) in line and option in line, line
    assert cards_in_registry(issuer_dir) == {}  # no document number used up
    assert not good.exists()


@pytest.mark.parametrize("where", UNWRITABLE)
def test_kiosk_add_checks_its_output_before_registering(
    issuer_dir: Path, tmp_path: Path, where: str
) -> None:
    bad = _unwritable_outputs(tmp_path)[where]
    trust_before = (issuer_dir / "public" / "trust-list.cose").read_bytes()
    result = api("kiosk", "add", "--dir", issuer_dir, "kiosk-6", "--out", bad)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert str(bad) in line, line
    assert f".{bad.name}." not in line  # the user's path, not a temporary file's
    listed = api("kiosk", "list", "--dir", issuer_dir, "--json")
    assert json.loads(listed.stdout) == []  # not registered, nothing published
    assert (issuer_dir / "public" / "trust-list.cose").read_bytes() == trust_before
    # The same id still works once the output is a place that can be written.
    out = tmp_path / "kiosk-6.json"
    assert api("kiosk", "add", "--dir", issuer_dir, "kiosk-6", "--out", out).exit_code == 0
    assert json.loads(out.read_text())["kiosk_id"] == "kiosk-6"


# -- 5. init settings that would make the issuer unusable ---------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--doc-prefix", "!!/", "The document number prefix (--doc-prefix) must be"),
        ("--doc-prefix", "ABCDEFGHIJKLMNOP", "The document number prefix (--doc-prefix) must be"),
        ("--issuer", "", "The issuer id (--issuer) must be"),
        ("--issuer", "   ", "The issuer id (--issuer) must be"),
        ("--program", "nonexistent-prog", "There is no programme 'nonexistent-prog' (--program)"),
        ("--program", "Not A Code", "The programme id (--program) must be"),
        ("--base-url", "not a url", "The base URL (--base-url) must be"),
        ("--base-url", "ftp://cc.example", "The base URL (--base-url) must be"),
    ],
)
def test_init_refuses_settings_that_cannot_issue(
    tmp_path: Path, option: str, value: str, fragment: str
) -> None:
    directory = tmp_path / "issuer"
    result = api("init", "--dir", directory, option, value)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert fragment in line, line
    assert not (directory / "issuer.json").exists()
    assert not (directory / SQLITE_FILE).exists()


def test_init_lists_the_known_programmes(tmp_path: Path) -> None:
    line = one_error_line(api("init", "--dir", tmp_path / "x", "--program", "atlantis"))
    known = sorted(p.stem for p in (Path(__file__).parent.parent / "programs").glob("*.toml"))
    assert known and all(pid in line for pid in [*known, "demo"]), line


@pytest.mark.parametrize(
    "args",
    [
        [],  # the defaults: programme 'demo', prefix DEV
        ["--program", "zurich", "--doc-prefix", "zur", "--issuer", "zurich-city"],
        ["--base-url", "http://127.0.0.1:8080/", "--doc-prefix", "NY-1"],
    ],
)
def test_init_takes_usable_settings(
    tmp_path: Path, resident_file: Path, args: list[str]
) -> None:
    directory = tmp_path / "issuer"
    result = api("init", "--dir", directory, *args)
    assert result.exit_code == 0, result.output
    issued = api(*issue_args(directory, resident_file, tmp_path / "card.cose"))
    assert issued.exit_code == 0, issued.output


def test_the_issuer_class_refuses_an_unusable_prefix(tmp_path: Path) -> None:
    with pytest.raises(IssuerError, match="--doc-prefix"):
        Issuer.init(tmp_path / "issuer", doc_prefix="!!/", now=NOW)
    assert not (tmp_path / "issuer" / "issuer.json").exists()


# -- 6. a staff id is not a key label -----------------------------------------------------------


@pytest.mark.parametrize(("kind", "value"), [("staff", ""), ("staff", "Desk Two"), ("kiosk", "")])
def test_an_unusable_account_id_is_named_as_such(issuer_dir: Path, kind: str, value: str) -> None:
    result = api(kind, "add", "--dir", issuer_dir, value)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"Error: The {kind} id {value!r} is not usable: use 1 to 63"), line
    assert "Key label" not in line


# -- 7. chip options without the chip variant ---------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"), [("--chip-uid", "04A1B2C3D4E5F6"), ("--print-out", "print.cose")]
)
def test_chip_options_need_the_chip_variant(
    issuer_dir: Path, resident_file: Path, tmp_path: Path, option: str, value: str
) -> None:
    out = tmp_path / "card.cose"
    given = str(tmp_path / value) if option == "--print-out" else value
    result = api(*issue_args(issuer_dir, resident_file, out), option, given)
    assert result.exit_code == 2
    assert f"{option} goes with --variant chip" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "print.cose").exists()
    assert cards_in_registry(issuer_dir) == {}

