"""Splitting a .sql test into statements (sqlparse: quotes, comments, dollar-quoting and
BEGIN…END bodies) and reading the ClickHouse-style annotations that follow them."""

from __future__ import annotations

import dataclasses
import functools
import re
import re._constants as _sre_constants  # sre's parser: which patterns can start with a char
import re._parser as _sre_parser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlparse import keywords
from sqlparse import tokens as T
from sqlparse.engine import StatementSplitter
from sqlparse.lexer import Lexer

from toolkit.errors import ToolkitError

_ANNOTATION = re.compile(r"^\s*\{\s*([A-Za-z]+)\b\s*([^}]*)\}\s*$")


class ScriptError(ToolkitError):
    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line = path, line
        super().__init__(f"{path}:{line}: {message}")


@dataclasses.dataclass(frozen=True)
class Expect:
    kind: str  # "serverError" | "clientError"
    codes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Step:
    sql: str
    line: int
    expect: Expect | None = None
    echo: bool = False


def parse(path: Path, backslash_escapes: bool = True) -> list[Step]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScriptError(path, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x})") from exc
    # as text mode would read it: universal newlines
    return parse_text(text.replace("\r\n", "\n").replace("\r", "\n"), path,
                      backslash_escapes)


class _Lexer(Lexer):
    """sqlparse's lexer with its patterns compiled into one ordered alternation (the same
    first-match-wins tokens, without a Python loop over ~50 regexes at every position), and
    for each ASCII character, into the alternation of only the patterns that can match text
    starting with it."""

    def set_SQL_REGEX(self, SQL_REGEX: list[tuple[str, Any]]) -> None:  # noqa: N802, N803
        super().set_SQL_REGEX(SQL_REGEX)
        self._SQL_REGEX_SOURCE = SQL_REGEX
        flags = re.IGNORECASE | re.UNICODE
        self._actions = {f"g{i}": action for i, (_, action) in enumerate(SQL_REGEX)}

        def alternation(indices: tuple[int, ...]) -> Callable[[str, int], re.Match[str] | None]:
            if not indices:  # no pattern can start here: an error token, as sqlparse makes
                return lambda text, pos: None
            return re.compile("|".join(f"(?P<g{i}>{SQL_REGEX[i][0]})" for i in indices),
                              flags).match

        self._match = alternation(tuple(range(len(SQL_REGEX))))
        firsts = [_first(list(_sre_parser.parse(rx, flags))) for rx, _ in SQL_REGEX]
        compiled: dict[tuple[int, ...], Callable[[str, int], re.Match[str] | None]] = {}
        self._dispatch = {}
        for char in _ASCII:
            indices = tuple(i for i, (may, nullable) in enumerate(firsts)
                            if nullable or char in may)
            if indices not in compiled:
                compiled[indices] = alternation(indices)
            self._dispatch[char] = compiled[indices]

    def get_tokens(self, text: str, encoding: str | None = None) -> Iterator[tuple[Any, str]]:
        spans = keywords.find_delimited_spans(text)  # dollar quotes and /* */, as sqlparse does
        pos, size = 0, len(text)
        dispatch, everything = self._dispatch, self._match
        while pos < size:
            if pos in spans.openers and (resolved := spans.resolve(pos)) is not None:
                end, ttype = resolved
                yield ttype, text[pos:end]
                pos = end
                continue
            match = dispatch.get(text[pos], everything)(text, pos)
            if match is None:
                yield T.Error, text[pos]
                pos += 1
                continue
            action = self._actions[match.lastgroup or ""]
            if action is keywords.PROCESS_AS_KEYWORD:
                yield self.is_keyword(match.group())
            else:
                yield action, match.group()
            pos = max(match.end(), pos + 1)


_ASCII = frozenset(chr(code) for code in range(128))


def _folds(char: str) -> set[int]:
    return {ord(char), ord(char.lower()), ord(char.upper())}  # the patterns ignore case


def _first(items: list[Any]) -> tuple[frozenset[str], bool]:
    """(the ASCII characters a match of the parsed pattern can start with, whether it can
    match the empty string, and so start anywhere). Errs towards more: a pattern tried
    needlessly only costs time."""
    may: set[str] = set()
    for op, arg in items:
        item_may, nullable = _item(op, arg)
        may |= item_may
        if not nullable:
            return frozenset(may), False
    return frozenset(may), True


def _item(op: Any, arg: Any) -> tuple[frozenset[str], bool]:
    c = _sre_constants
    if op is c.LITERAL:
        return frozenset(ch for ch in _ASCII if arg in _folds(ch)), False
    if op is c.NOT_LITERAL:
        return frozenset(ch for ch in _ASCII if not _folds(ch) <= {arg}), False
    if op is c.IN:
        return frozenset(ch for ch in _ASCII if _in_class(arg, ch)), False
    if op is c.SUBPATTERN:
        return _first(list(arg[-1]))
    if op is c.BRANCH:
        results = [_first(list(branch)) for branch in arg[1]]
        return frozenset().union(*(m for m, _ in results)), any(n for _, n in results)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, _, body = arg
        may, nullable = _first(list(body))
        return may, low == 0 or nullable
    if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
        return frozenset(), True  # zero-width: what follows decides
    return _ASCII, True  # anything else: assume it can start anywhere


def _in_class(items: list[Any], char: str) -> bool:
    c = _sre_constants
    negate = bool(items) and items[0][0] is c.NEGATE
    categories = {c.CATEGORY_DIGIT: str.isdigit, c.CATEGORY_SPACE: str.isspace,
                  c.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_"}
    negated = {c.CATEGORY_NOT_DIGIT: c.CATEGORY_DIGIT, c.CATEGORY_NOT_SPACE: c.CATEGORY_SPACE,
               c.CATEGORY_NOT_WORD: c.CATEGORY_WORD}
    hit = False
    for op, arg in items[1:] if negate else items:
        if op is c.LITERAL:
            hit = arg in _folds(char)
        elif op is c.RANGE:
            hit = any(arg[0] <= code <= arg[1] for code in _folds(char))
        elif op is c.CATEGORY and arg in categories:
            hit = categories[arg](char)
        elif op is c.CATEGORY and arg in negated:
            hit = not categories[negated[arg]](char)
        else:
            return True  # a class this does not model: assume it can
        if hit:
            break
    return hit != negate


@functools.cache
def _lexer(backslash_escapes: bool) -> _Lexer:
    """String rules for the engine: standard SQL strings (SQLite, PostgreSQL: 'C:\\' ends at
    its second quote) or backslash escapes done right (MySQL, ClickHouse: 'a\\\\' ends at its
    last quote, which sqlparse's own rule misses)."""
    quoted = r"(''|\\[\s\S]|[^'\\])*" if backslash_escapes else r"(''|[^'])*"
    lexer = _Lexer()
    lexer.default_initialization()
    lexer.set_SQL_REGEX([(f"'{quoted}'", ttype) if ttype is T.String.Single else (rx, ttype)
                         for rx, ttype in keywords.SQL_REGEX])
    return lexer


class _Splitter(StatementSplitter):
    """sqlparse's statement splitter (its BEGIN…END and block rules) over plain (type, value)
    pairs: building sqlparse's token objects would cost more than the split itself."""

    def split(self, stream: Iterator[tuple[Any, str]]) -> Iterator[list[tuple[Any, str]]]:
        for ttype, value in stream:
            kind = _kind(ttype)
            if self.consume_ws and not _trails(ttype):
                yield self.tokens
                self._reset()
            if kind == "block":  # only these can open or close a level
                self.level += self._change_splitlevel(ttype, value)
            self.tokens.append((ttype, value))
            if ttype is T.Punctuation and value == ";":
                self._seen_begin = False
                if self.level <= 0 and "BEGIN" not in self._block_stack:
                    self.consume_ws = True
            elif not _quiet(ttype) and not (ttype is T.Keyword and value.upper() == "BEGIN"):
                self._seen_begin = False
        if any(_kind(ttype) != "space" for ttype, _ in self.tokens):
            yield self.tokens


@functools.cache
def _trails(ttype: Any) -> bool:
    """What sqlparse keeps with a finished statement (exact types: a newline ends it)."""
    return ttype in (T.Whitespace, T.Comment.Single)


@functools.cache
def _quiet(ttype: Any) -> bool:
    return ttype in (T.Whitespace, T.Newline, T.Comment.Single, T.Comment.Multiline)


def warm_up(backslash_escapes: bool) -> None:
    """Compile the lexer and classify the common token types ahead of a fork."""
    parse_text("CREATE TABLE t (a int); -- c\nSELECT 'x', 1 FROM t WHERE a = 1;\n",
               Path("warm-up.sql"), backslash_escapes)


def statements(text: str, backslash_escapes: bool) -> Iterator[list[tuple[Any, str]]]:
    """The statements of ``text`` as lists of (token type, text); joined, they are the text."""
    return _Splitter().split(_lexer(backslash_escapes).get_tokens(text))


def parse_text(text: str, path: Path, backslash_escapes: bool = True) -> list[Step]:
    steps: list[Step] = []
    echo = False
    line = 1
    carried: list[tuple[str, int]] = []  # comments on lines after a ';': they lead the next one
    for tokens in statements(text, backslash_escapes):
        # the statement ends at its last ';' (earlier ones sit inside BEGIN…END bodies)
        ends = [i for i, (ttype, value) in enumerate(tokens)
                if ttype is T.Punctuation and value == ";"]
        end = ends[-1] if ends else len(tokens)
        code: list[str] = []
        comments = list(carried)
        carried = []
        start = None
        end_line = None
        for i, (ttype, value) in enumerate(tokens):
            kind = _kind(ttype)
            if kind == "error" and value in _QUOTES:
                raise ScriptError(path, line, f"unterminated {_QUOTES[value]} starting with {value}")
            if i == end:
                end_line = line
            elif i > end:
                if kind in ("comment", "single-comment"):
                    # same line as the ';': this statement's; later lines lead the next one
                    (comments if line == end_line else carried).append((value, line))
            elif kind in ("comment", "single-comment") and not code:
                comments.append((value, line))
            elif kind == "single-comment":
                comments.append((value, line))
                code.append("\n")
            elif kind != "space" or code:
                if start is None:
                    start = line
                code.append(value)
            if "\n" in value:
                line += value.count("\n")
        expect = None
        for comment, at in comments:
            annotation = _annotation(comment, path, at)
            if annotation is None:
                continue
            word, args = annotation
            if word in ("echoOn", "echoOff"):
                echo = word == "echoOn"
            elif expect is not None:
                raise ScriptError(path, at, "a second expected error for one statement")
            else:
                expect = Expect(word, args)
        sql = "".join(code).strip()
        if sql:
            steps.append(Step(sql, start or line, expect, echo))
        elif expect is not None:
            raise ScriptError(path, comments[0][1], f"{expect.kind} annotation with no statement")
    for comment, at in carried:
        if (annotation := _annotation(comment, path, at)) and annotation[0] not in ("echoOn", "echoOff"):
            raise ScriptError(path, at, f"{annotation[0]} annotation after the last statement")
    return steps


@functools.cache
def _kind(ttype: Any) -> str:
    """sqlparse's type hierarchy tests are slow; each type is classified once."""
    if ttype in T.Comment.Single:  # what may follow a statement's ';' on its line
        return "single-comment"
    if ttype in T.Comment:
        return "comment"
    if ttype in T.Whitespace:
        return "space"
    if ttype is T.Punctuation or ttype in T.Keyword:
        return "block"
    return "error" if ttype is T.Error else "other"


_QUOTES = {"'": "string", '"': "quoted identifier", "`": "quoted identifier",
           "$": "dollar-quoted string"}
KNOWN = ("serverError", "clientError", "echoOn", "echoOff")


def _annotation(comment: str, path: Path, line: int) -> tuple[str, tuple[str, ...]] | None:
    body = comment.strip()
    body = body[2:] if body.startswith("--") else body.lstrip("#") if body.startswith("#") else body
    if body.startswith("/*"):
        body = body[2:].removesuffix("*/")
    match = _ANNOTATION.match(body)
    if not match:
        return None
    word, rest = match.group(1), match.group(2)
    if word not in KNOWN:
        raise ScriptError(path, line, f"unknown annotation {{ {word} }} "
                          f"(known: {', '.join(KNOWN)})")
    codes = tuple(c.strip() for c in rest.split(",") if c.strip())
    if word in ("serverError", "clientError") and not codes:
        raise ScriptError(path, line, f"{word} needs at least one error code")
    return word, codes
