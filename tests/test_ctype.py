"""C declarations: constant expressions, declarations C refuses, enums from the build."""

from __future__ import annotations

import re

import pytest
from test_scenario import build_2622

from layoutcalc.abi import get_abi
from layoutcalc.changes.ctype import declaration_needs, parse_declaration, resolve_type
from layoutcalc.errors import NotFoundError, ScenarioError
from layoutcalc.model import Build, EnumType

ABI = get_abi("x86_64")


def _declared(build: Build, decl: str) -> list[tuple[object, ...]]:
    return [(d.name, d.type.c_name(), d.type.size_bytes, d.bit_size) for d in parse_declaration(build, decl, ABI)]


@pytest.mark.parametrize(("decl", "expected"), [
    ("int a[-7/2 + 10];", ("a", "int [7]", 28, None)),  # C division truncates: -7/2 is -3, not -4
    ("int a[010];", ("a", "int [8]", 32, None)),  # octal, as in C
    ("char a[7 % 3];", ("a", "char [1]", 1, None)),
    ("char a[1 << 4 >> 1];", ("a", "char [8]", 8, None)),
    ("int :0;", (None, "int", 4, 0)),  # an unnamed zero-width bit-field is C's way to break a unit
    ("unsigned long x:64;", ("x", "long unsigned int", 8, 64)),
])
def test_constant_expressions(decl: str, expected: tuple[object, ...]) -> None:
    assert _declared(build_2622(), decl) == [expected]


@pytest.mark.parametrize(("decl", "message"), [
    ("int a[1/0];", r"division by zero in '1 / 0'"),
    ("int a[5 % 0];", r"division by zero in '5 % 0'"),
    ("int a[1<<70];", r"shift count 70 out of range 0\.\.63 in '1 << 70'"),
    ("int a[1 << -1];", r"shift count -1 out of range 0\.\.63"),
    ("int a[(1 << 62) * 8];", r"'\(1 << 62\) \* 8' overflows 64 bits"),
    ("int x[-1];", r"array bound -1 is negative"),
    ("int x:40;", r"width 40 of bit-field 'x' exceeds its type 'int' \(32 bits\)"),
    ("_Bool b:2;", r"width 2 of bit-field 'b' exceeds its type '_Bool' \(1 bit\)"),
    ("int x:-1;", r"bit-field 'x' has negative width -1"),
    ("int x:0;", r"bit-field 'x' has zero width"),
    ("double d:3;", r"bit-field 'd' has non-integer type 'double'"),
    ("void x;", r"member 'x' has type void"),
    ("void v[2];", r"an array of void"),
    ("int x[3][];", r"only the outermost bound of an array may be left out"),
    ("long x[1 << 30];", r"array of 8589934592 bytes exceeds the 4294967296-byte limit"),
    ("int x[1ULL << 40];", r"array of 4398046511104 bytes exceeds"),
])
def test_impossible_declarations(decl: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=rf"^invalid declaration '{re.escape(decl)}': {message}"):
        parse_declaration(build_2622(), decl, ABI)


def _build_with_enums() -> Build:
    build = build_2622()
    build.enums.update({"pid_type": EnumType("pid_type", 4), "tiny": EnumType("tiny", 1)})
    return build


def test_enum_comes_from_the_build() -> None:
    build = _build_with_enums()
    (decl,) = parse_declaration(build, "enum pid_type type;", ABI)
    assert decl.type is build.enums["pid_type"]
    assert _declared(build, "enum tiny t;") == [("t", "enum tiny", 1, None)]  # its size, not a guessed 4
    assert _declared(build, "enum tiny t:3;") == [("t", "enum tiny", 1, 3)]
    assert resolve_type(build, "enum tiny", ABI) is build.enums["tiny"]
    with pytest.raises(ScenarioError, match=r"width 9 of bit-field 't' exceeds its type 'enum tiny' \(8 bits\)"):
        parse_declaration(build, "enum tiny t:9;", ABI)


def test_unknown_enum_is_an_error_unless_pointed_to() -> None:
    build = _build_with_enums()
    with pytest.raises(NotFoundError, match=r"unknown type 'enum nosuch'"):
        parse_declaration(build, "enum nosuch x;", ABI)
    with pytest.raises(NotFoundError, match=r"unknown type 'enum nosuch'"):
        resolve_type(build, "enum nosuch", ABI)
    assert _declared(build, "enum nosuch *p;") == [("p", "enum nosuch *", 8, None)]
    with pytest.raises(ScenarioError, match=r"an enum cannot be defined inline"):
        parse_declaration(build, "enum tagged { A, B } x;", ABI)  # an anonymous one is modelled (issue 17)


def test_declaration_needs_names_enums() -> None:
    assert declaration_needs("enum pid_type type; enum other *p;") == (set(), {"enum pid_type"})
    assert declaration_needs("pid_t a; struct hlist_node n[2]; enum e x:2;") == ({"hlist_node"}, {"pid_t", "enum e"})
