"""Splitting .sql tests and reading their annotations."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlparse.engine import StatementSplitter
from sqlparse.lexer import Lexer

from toolkit.refs.script import Expect, ScriptError, _lexer, parse_text, statements

QUERIES = Path(__file__).parent / "queries"
F = Path("t.sql")


def test_bodies_quotes_and_comments_stay_in_one_statement() -> None:
    text = """-- Tags: x
CREATE TRIGGER tr AFTER INSERT ON a BEGIN
    INSERT INTO b VALUES ('x;y'); -- inner; comment
END;
CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
SELECT /* ; */ "a;b";"""
    steps = parse_text(text, F, backslash_escapes=False)
    assert [s.line for s in steps] == [2, 5, 6]
    assert steps[0].sql.endswith("END") and "('x;y')" in steps[0].sql
    assert steps[1].sql == "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql"
    assert steps[2].sql == 'SELECT /* ; */ "a;b"'


def test_annotations_bind_to_the_statement_on_their_line() -> None:
    text = """SELECT 1; -- { serverError 42P01, undefined_table }
-- { echoOn }
SELECT 2;
SELECT 3 --{clientError SYNTAX_ERROR}
;
-- { echoOff }
SELECT 4; -- {$1:String} is not an annotation
"""
    steps = parse_text(text, F)
    assert steps[0].expect == Expect("serverError", ("42P01", "undefined_table"))
    assert [s.echo for s in steps] == [False, True, True, False]
    assert steps[1].expect is None
    assert steps[2].expect == Expect("clientError", ("SYNTAX_ERROR",))
    assert steps[3].expect is None


def test_backslash_escapes_follow_the_engine() -> None:
    mysql = parse_text(r"SELECT 'a\\', 'b\'c'; SELECT 2", F, backslash_escapes=True)
    assert [s.sql for s in mysql] == [r"SELECT 'a\\', 'b\'c'", "SELECT 2"]
    standard = parse_text(r"SELECT 'C:\'; SELECT 'it''s'", F, backslash_escapes=False)
    assert [s.sql for s in standard] == [r"SELECT 'C:\'", "SELECT 'it''s'"]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("SELECT 1;\nSELECT 'oops;\n", 2, "unterminated string"),
    ("SELECT 1; -- { serverErorr 1 }\n", 1, "unknown annotation { serverErorr }"),
    ("SELECT 1; -- { serverError }\n", 1, "needs at least one error code"),
    ("SELECT 1 -- { serverError 1 }\n; -- { serverError 2 }\n", 2, "a second expected error"),
    ("SELECT 1;\n-- { serverError 1 }\n", 2, "annotation with no statement"),
    ("SELECT 1; -- done\n-- { serverError 1 }\n", 2, "after the last statement"),
])
def test_bad_input_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_text(text, F)
    assert str(info.value).startswith(f"{F}:{line}: ") and message in str(info.value)


@pytest.mark.parametrize("backslash_escapes", [True, False])
def test_split_is_sqlparse_split(backslash_escapes: bool) -> None:
    """The fast splitter cuts exactly where sqlparse's own StatementSplitter does."""
    for path in sorted(QUERIES.glob("*.sql")):
        text = path.read_text()
        ours = ["".join(v for _, v in st) for st in statements(text, backslash_escapes)]
        lexer = _lexer(backslash_escapes)
        theirs = [str(s) for s in StatementSplitter().process(lexer.get_tokens(text))]
        assert ours == theirs, path


def _reference_lexer(backslash_escapes: bool) -> Lexer:
    lexer = Lexer()
    lexer.default_initialization()
    lexer.set_SQL_REGEX(_lexer(backslash_escapes)._SQL_REGEX_SOURCE)
    return lexer


@pytest.mark.parametrize("backslash_escapes", [True, False])
def test_fast_lexer_matches_sqlparse_lexer(backslash_escapes: bool) -> None:
    reference = _reference_lexer(backslash_escapes)
    for path in sorted(QUERIES.glob("*.sql")):
        text = path.read_text()
        assert list(_lexer(backslash_escapes).get_tokens(text)) == \
            list(reference.get_tokens(text)), path


SQLISH = st.lists(st.sampled_from(
    list("abcEINDFROMSELCTAGWHy_019 \t\n;:,.()[]'\"`$#@?%*+-/<>=!~\\éÜſK")
    + ["--", "/*", "*/", "$$", "END", "BEGIN", "CASE", "IF", "CREATE OR REPLACE", "NOT NULL",
       "0x1F", "1e5", "::"]), max_size=60).map("".join)


@given(SQLISH, st.booleans())
@settings(max_examples=400, deadline=None)
def test_fast_lexer_matches_sqlparse_on_anything(text: str, backslash_escapes: bool) -> None:
    """The per-character pattern subsets never change which token sqlparse would make."""
    assert list(_lexer(backslash_escapes).get_tokens(text)) == \
        list(_reference_lexer(backslash_escapes).get_tokens(text))
