"""Small modules with one job: no module of the packages has more than 600 lines of code.

Lines of code: lines holding a token other than a comment, counting neither blank lines nor
docstrings. A module that grows past the limit has more than one job; split it along its seams
(docs/architecture.md) rather than raising the limit.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cardio", "printer", "kiosk", "api", "firmware_tools", "hardware")
LIMIT = 600


def lines_of_code(source: str) -> int:
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    code: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip or tok.type == tokenize.ENDMARKER:
            continue
        code.update(n for n in range(tok.start[0], tok.end[0] + 1) if n not in docstrings)
    return len(code)


def test_the_counter_counts_code_only() -> None:
    source = '"""Doc\n\nstring."""\n\n# comment\nimport os\n\n\ndef f():\n    """Doc."""\n    return (\n        1\n    )\n'
    assert lines_of_code(source) == 5  # import, def, return, 1, )


def test_no_module_is_oversized() -> None:
    sizes = {
        str(path.relative_to(ROOT)): lines_of_code(path.read_text("utf-8"))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
    }
    oversized = {name: n for name, n in sizes.items() if n > LIMIT}
    assert not oversized, f"modules over {LIMIT} lines of code: {oversized}"
