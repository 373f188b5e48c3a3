"""Black's layout of the attributes of a workflow module, computed without running black on them.

Black formats each statement of a class body on its own, so a module whose classes hold thousands
of ``name: Annotated[...] = value`` attributes needs black only for its frame (header, imports,
class lines): :func:`render_classes` formats the frame with black and lays out the attributes
with :func:`statement_lines`, which applies the rules black 25/26 follows for the shapes that
:mod:`ivkgen.generator.module` writes (one-line values, strings, implicitly concatenated strings,
list and dict literals, ``Class.model_validate(...)`` calls) at 100 columns and one indent. A
statement of any other shape is formatted by black alone. ``tests/unit/test_module_layout.py``
holds the rules to the installed black: whole modules and attributes of random shapes.
"""

from __future__ import annotations

import functools
import keyword
import re
from dataclasses import dataclass, replace
from typing import Any

import black
from ivkgen.generator import GeneratorError
from ivkgen.generator.render import BLACK_MODE, LINE_LENGTH, format_python, render
from ivkgen.runtime._errors import IvkgenError

INDENT = "    "
_TOKEN = (
    r"\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""  # strings
    r"|\d+(?:\.\d+)?(?:e[-+]?\d+)?|[A-Za-z_]\w*|[-()\[\]{},:=|.])"  # numbers, names, operators
)
_TOKENS = re.compile(_TOKEN)
_ALL_TOKENS = re.compile(rf"(?:{_TOKEN})*")
_CLOSE = {"(": ")", "[": "]", "{": "}"}


class Unsupported(IvkgenError):
    """The statement has a shape this module does not lay out."""


@dataclass(frozen=True)
class Expr:
    """An expression as black renders it on one line (``text``) and, when it ends with a
    bracket, what black splits: the text up to that opening bracket (``head``), what the brackets
    hold (``items``) and the closing bracket. ``literal``: the brackets are a list, a dict or
    parentheses (black explodes those once split), not a call or a subscript."""

    text: str
    head: str = ""
    items: tuple[Expr, ...] = ()
    close: str = ""
    literal: bool = False
    concat: bool = False
    """The items are implicitly concatenated strings."""
    union: bool = False
    """``a | b`` at the top: black splits at ``|``, which is not laid out here."""

    def prefixed(self, prefix: str) -> Expr:
        """``prefix`` followed by this expression (a dict key or a keyword)."""
        return replace(self, text=prefix + self.text, head=prefix + self.head if self.head else "")


class _Parser:
    """Recursive descent over the tokens of one generated expression."""

    def __init__(self, source: str) -> None:
        if not source.isascii() or not _ALL_TOKENS.fullmatch(source):
            raise Unsupported(source)  # black measures wide characters by their width
        self.tokens = [_token(token) for token in _TOKENS.findall(source)]
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise Unsupported(token)
        self.at += 1
        return token

    def whole(self) -> Expr:
        expr = self.expr()
        if self.peek():
            raise Unsupported(self.peek())
        return expr

    def expr(self) -> Expr:
        parts = [self.operand()]
        while self.peek() == "|":
            self.take()
            parts.append(self.operand())
        if len(parts) == 1:
            return parts[0]
        return Expr(" | ".join(part.text for part in parts), union=True)

    def operand(self) -> Expr:
        token = self.take()
        if token == "-":
            return Expr("-" + self.number())
        if token[0].isdigit():
            self.at -= 1
            return Expr(self.number())
        if token[0] in "'\"":
            return Expr(token)
        if token in "[{":
            return self.brackets(token, token, literal=True)
        if token == "(":
            return self.concat()
        if not token.isidentifier():
            raise Unsupported(token)
        while self.peek() == ".":
            token += self.take() + self.take()
        if self.peek() in ("(", "["):
            return self.brackets(token + self.peek(), self.take(), literal=False)
        return Expr(token)

    def number(self) -> str:
        token = self.take()
        if not token[0].isdigit():
            raise Unsupported(token)
        return token.replace("e+", "e")

    def concat(self) -> Expr:
        strings = []
        while self.peek()[:1] in ("'", '"'):
            strings.append(Expr(self.take()))
        self.take(")")
        if len(strings) < 2:
            raise Unsupported("parentheses")
        text = "(" + " ".join(s.text for s in strings) + ")"
        return Expr(text, "(", tuple(strings), ")", literal=True, concat=True)

    def brackets(self, head: str, opening: str, *, literal: bool) -> Expr:
        closing = _CLOSE[opening]
        items: list[Expr] = []
        while self.peek() != closing:
            if items:
                self.take(",")
            items.append(self.item(opening))
        self.take(closing)
        if len(items) == 1 and items[0].concat and items[0].head == "(":
            raise Unsupported("parenthesized strings as the only item")  # black may drop them
        text = head + ", ".join(item.text for item in items) + closing
        return Expr(text, head, tuple(items), closing, literal=literal)

    def item(self, opening: str) -> Expr:
        if opening == "{":
            key = self.expr()
            self.take(":")
            if key.head or key.union:
                raise Unsupported(key.text)
            return self.expr().prefixed(key.text + ": ")
        keyword = self.tokens[self.at + 1 : self.at + 2] == ["="]
        if opening == "(" and keyword and self.peek().isidentifier():
            name = self.take() + self.take()
            return self.expr().prefixed(name)
        return self.expr()


def _token(token: str) -> str:
    """A token as black writes it: strings in double quotes where black would use them."""
    if token[0] != "'":
        return token
    if "'" in token[1:-1] or '"' in token:
        raise Unsupported(token)  # black weighs the escapes of both quotes
    return f'"{token[1:-1]}"'


@functools.cache
def _expression(source: str) -> Expr:
    return _Parser(source).whole()


def _annotated(arguments: tuple[str, ...]) -> Expr:
    items = tuple(map(_expression, arguments))  # parsed one by one: most of them repeat
    return Expr(f"Annotated[{', '.join(i.text for i in items)}]", "Annotated[", items, "]")


def statement_lines(target: str, annotated: tuple[str, ...], value: str | None) -> list[str] | None:
    """The lines black makes of the class-body statement ``target: Annotated[...] = value``
    (``annotated``: the arguments of ``Annotated``; no ``= value`` when ``None``) one indent deep,
    or ``None`` for a shape not laid out here."""
    try:
        if not target.isidentifier() or keyword.iskeyword(target):
            raise Unsupported(target)  # black refuses it
        parsed = None if value is None else _expression(value)
        lines = _statement(target, _annotated(annotated), parsed)
    except Unsupported:
        return None
    return lines if all(len(line) <= LINE_LENGTH for line in lines) else None


def _statement(target: str, annotation: Expr, value: Expr | None) -> list[str]:
    start = f"{INDENT}{target}: {annotation.text}"
    if value is None:
        return [start] if _fits(start) else _split_annotation(target, annotation, "")
    right = " ".join(s.text for s in value.items) if value.concat else value.text
    if _fits(f"{start} = {right}"):
        return [f"{start} = {right}"]
    if value.union:
        raise Unsupported(value.text)
    in_parens = f"{start} = ("
    if value.concat:
        if _fits(in_parens):
            return [in_parens, *_strings(value.items, 2), INDENT + ")"]
        # black's first try leaves the parentheses visible, so they stay when the tail fits
        # (but not on its second pass when the annotation was exploded)
        together = _split_annotation(target, annotation, f" = ({right})")
        if len(together) == 3 and _fits(together[-1]):
            return together
        head = _split_annotation(target, annotation, " = (")
        return [*head, *_strings(value.items, 2), INDENT + ")"]
    split = bool(value.items)  # black splits at the last brackets, unless empty
    if split and _fits(f"{start} = {value.head}"):
        return [f"{start} = {value.head}", *_body(value, 2), INDENT + value.close]
    if _fits(in_parens):
        return [in_parens, *_line(value, 2), INDENT + ")"]
    if not split or len(INDENT) + len(" = ") + len(value.text) <= LINE_LENGTH:
        return _split_annotation(target, annotation, f" = {value.text}")
    head = _split_annotation(target, annotation, f" = {value.head}")
    return [*head, *_body(value, 2), INDENT + value.close]


def _split_annotation(target: str, annotation: Expr, tail: str) -> list[str]:
    """``name: Annotated[`` / what the brackets hold / ``]`` and ``tail``."""
    if not annotation.items:
        raise Unsupported(annotation.text)
    head = f"{INDENT}{target}: {annotation.head}"
    return [head, *_body(annotation, 2), f"{INDENT}{annotation.close}{tail}"]


def _body(expr: Expr, depth: int) -> list[str]:
    """What the last brackets of ``expr`` hold, on lines of their own at ``depth``."""
    if expr.concat:
        return _strings(expr.items, depth)
    line = INDENT * depth + ", ".join(item.text for item in expr.items)
    if _fits(line) and not (expr.literal and len(expr.items) > 1):
        return [line]
    if len(expr.items) == 1:
        return _line(expr.items[0], depth)
    return [line for item in expr.items for line in _line(item, depth, ",")]


def _line(expr: Expr, depth: int, suffix: str = "") -> list[str]:
    """``expr`` and ``suffix`` inside brackets at ``depth``: one line when it fits, else split at
    its last brackets."""
    pad = INDENT * depth
    if _fits(pad + expr.text + suffix):
        return [pad + expr.text + suffix]
    if expr.union or not expr.head or not expr.items:
        raise Unsupported(expr.text)
    return [pad + expr.head, *_body(expr, depth + 1), pad + expr.close + suffix]


def _strings(strings: tuple[Expr, ...], depth: int) -> list[str]:
    """Implicitly concatenated strings: one line when it fits, else one string a line."""
    line = INDENT * depth + " ".join(s.text for s in strings)
    return [line] if _fits(line) else [INDENT * depth + s.text for s in strings]


def _fits(line: str) -> bool:
    return len(line) <= LINE_LENGTH


@dataclass(frozen=True)
class Attribute:
    """One attribute of a class body, ``target: Annotated[*annotated] = value``, as the generator
    writes it (unformatted), and the docstring literal under it."""

    target: str
    annotated: tuple[str, ...]
    value: str | None
    doc: str

    @property
    def statement(self) -> str:
        value = "" if self.value is None else f" = {self.value}"
        return f"{self.target}: Annotated[{', '.join(self.annotated)}]{value}"

    @property
    def unformatted(self) -> str:
        return f"{INDENT}{self.statement}\n{INDENT}{self.doc}"

    @property
    def formatted(self) -> str:
        lines = statement_lines(self.target, self.annotated, self.value)
        return "\n".join([*(lines or _black_lines(self.statement)), INDENT + self.doc])


def unformatted(template: str, context: dict[str, Any], bodies: dict[str, list[Attribute]]) -> str:
    """``template`` rendered with ``context`` and each list of ``bodies`` as written: the text
    that black alone would format."""
    return render(template, **context, **{k: [a.unformatted for a in v] for k, v in bodies.items()})


def render_classes(
    template: str, label: str, context: dict[str, Any], bodies: dict[str, list[Attribute]]
) -> str:
    """What black makes of :func:`unformatted`: black formats (and parses) the template rendered
    with one marker attribute a body, then each marker gives way to its attributes, laid out.
    Their statements parse (the layout reads only valid ones, black the rest) and their
    docstrings come from :func:`ivkgen.generator.render.docstring`, which escapes them."""
    markers = {key: f'{INDENT}_ivkgen_{key}: int\n{INDENT}"""{key}"""' for key in bodies}
    marked = {key: [markers[key]] if attributes else [] for key, attributes in bodies.items()}
    text = format_python(render(template, **context, **marked), label)
    for key, attributes in bodies.items():
        if attributes:
            text = text.replace(markers[key], "\n\n".join(a.formatted for a in attributes), 1)
    return text


@functools.cache
def _black_lines(statement: str) -> list[str]:
    """``statement`` formatted by black in a class body."""
    try:
        formatted = black.format_str(f"class _:\n{INDENT}{statement}\n", mode=BLACK_MODE)
    except black.parsing.InvalidInput as exc:
        raise GeneratorError(f"generated code does not parse ({exc}): {statement}") from None
    return formatted.splitlines()[1:]
