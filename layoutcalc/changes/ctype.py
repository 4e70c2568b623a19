"""C type names and member declarations, resolved against one Build.

Scenario files and patches name types the way a kernel header does
(``pid_t``, ``struct hlist_node``, ``unsigned long``, ``u64 *``).  This module
turns such text into :mod:`layoutcalc.model` types using only what the build
itself recorded (its typedefs, base types and structs), so no kernel type size
is ever hard-coded here.  The only sizes known without the build are the C
language's own base types, which are facts of the target ABI (``int`` is 4
bytes, ``long`` is pointer-sized on every Linux target), used when the reader
did not load them.

Declarations are parsed with pycparser.  Header text is full of typedef names
pycparser has never seen, so a declaration is retried with the fewest of its
identifiers pre-declared as typedefs until it parses (``pid_t a, b;`` needs
``pid_t``; ``struct hlist_node n;`` needs none).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from pycparser import c_ast, c_generator, c_parser

from ..abi import Abi
from ..errors import NotFoundError, ScenarioError
from ..model import (
    ArrayType,
    BaseType,
    Build,
    EnumType,
    FunctionType,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
    VoidType,
)
from ..typegraph import reachable
from .limits import check_declaration


class CDeclarator(NamedTuple):
    """One member declared by a declaration: ``pid_t a, b;`` gives two.

    ``alignment_attr`` comes from ``__aligned(n)``, ``__attribute__((aligned(n)))``
    or ``____cacheline_aligned`` written on the declaration.
    """

    name: str | None
    type: Type
    bit_size: int | None
    alignment_attr: int | None


_C_KEYWORDS = frozenset((
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "_Bool", "_Complex", "_Atomic",
))

# Kernel annotations that change nothing about layout (sparse address spaces, hints).
_NOISE_WORDS = ("__rcu", "__user", "__iomem", "__percpu", "__force", "__deprecated", "__randomize_layout",
                "__private", "__attribute_const__", "__read_mostly", "__nocast", "__bitwise", "__kernel",
                "__safe", "__must_check", "__no_randomize_layout", "__designated_init")

# Kernel annotations with an argument that change nothing about layout.
_NOISE_CALLS = ("__counted_by", "__guarded_by", "__pt_guarded_by", "__sized_by")

# Padding helpers of vendor kernels (Android GKI, openEuler, RHEL): the member each reserves.
_RESERVE_MACROS = {
    "ANDROID_KABI_RESERVE": "u64 android_kabi_reserved{n}",
    "ANDROID_VENDOR_DATA": "u64 android_vendor_data{n}",
    "ANDROID_OEM_DATA": "u64 android_oem_data{n}",
    "KABI_RESERVE": "unsigned long kabi_reserve{n}",
    "RH_KABI_RESERVE": "unsigned long rh_reserved{n}",
}

# Spellings of C's own base types; a base type named otherwise (clang's __ARRAY_SIZE_TYPE__,
# gcc's ssizetype) is an internal one that a declaration can never mean.
_BASE_WORDS = frozenset(("signed", "unsigned", "char", "short", "int", "long", "float", "double", "_Bool",
                         "bool", "__int128", "const", "volatile"))

_BASE_SIZES = {"char": 1, "short": 2, "int": 4, "long long": 8, "float": 4, "double": 8, "_Bool": 1}

_parser = c_parser.CParser()
MAX_TYPEDEF_GUESSES = 300

# Largest array a declaration may add (a sanity cap: no kernel struct comes close).
MAX_OBJECT_SIZE = 1 << 32

# Stands in for the target when only names matter (cacheline size is then irrelevant).
_NO_ABI = Abi("none", 8, "little", 16, 16, 16, False, 64)


def resolve_type(build: Build, decl_type: str, abi: Abi) -> Type:
    """Resolve a C type name (``pid_t``, ``struct pid_namespace *``, ``char [16]``) in ``build``.

    Raises :class:`NotFoundError` naming the type when the build does not know it
    and its size cannot follow from the ABI alone, and :class:`ScenarioError` when
    the text is not a C type name.
    """
    text, align = _strip_annotations(decl_type, abi)
    if align:
        raise ScenarioError(f"'{decl_type.strip()}': an alignment attribute belongs on a member declaration")
    return _TypeResolver(build, abi).resolve(_parse_type_name(text))


def parse_declaration(build: Build, text: str, abi: Abi) -> list[CDeclarator]:
    """The members declared by one C member declaration (``pid_t a, b;``, ``unsigned x:1;``).

    Raises :class:`ScenarioError` ``cannot parse declaration '...'`` when the text
    is not a member declaration, ``invalid declaration '...': ...`` when it declares
    something C does not allow (a negative bound, a bit-field wider than its type,
    a ``void`` member, an array over :data:`MAX_OBJECT_SIZE`), and
    :class:`NotFoundError` for an unknown type.
    """
    body, align = _strip_annotations(text, abi)
    resolver = _TypeResolver(build, abi)
    result = []
    for decl in _parse_member_decls(body, text):
        if not isinstance(decl.type, (c_ast.TypeDecl, c_ast.PtrDecl, c_ast.ArrayDecl)):
            raise ScenarioError(f"cannot parse declaration '{text.strip()}': not a data member")
        try:
            member_type = resolver.resolve(decl.type)
            if isinstance(member_type.strip(), VoidType):
                raise ScenarioError(f"member '{decl.name}' has type void")
            bit_size = None if decl.bitsize is None else _bit_width(decl.name, member_type, decl.bitsize)
        except ScenarioError as exc:
            raise ScenarioError(f"invalid declaration '{text.strip()}': {exc}") from None
        result.append(CDeclarator(decl.name, member_type, bit_size, align))
    return result


def _bit_width(name: str | None, member_type: Type, node: c_ast.Node) -> int:
    """The width of a bit-field, checked against its type as a C compiler does."""
    width = _eval_const(node)
    base = member_type.strip()
    integral = isinstance(base, EnumType) or (isinstance(base, BaseType) and base.encoding != "float")
    if not integral:
        raise ScenarioError(f"bit-field '{name}' has non-integer type '{member_type.c_name()}'")
    if width < 0:
        raise ScenarioError(f"bit-field '{name}' has negative width {width}")
    if width == 0 and name:
        raise ScenarioError(f"bit-field '{name}' has zero width (only an unnamed bit-field may)")
    bits = 1 if isinstance(base, BaseType) and base.encoding == "bool" else base.size_bytes * 8
    if width > bits:
        raise ScenarioError(f"width {width} of bit-field '{name}' exceeds its type "
                            f"'{member_type.c_name()}' ({bits} bit{'s' if bits > 1 else ''})")
    return width


def declared_names(text: str) -> list[str]:
    """Names a member declaration declares, without resolving types (``[]`` if unparsable).

    Used for context lines of a patch, which only serve as anchors.
    """
    body, _ = _strip_annotations(text, _NO_ABI)
    try:
        decls = _parse_member_decls(body, text)
    except ScenarioError:
        return []
    return [decl.name for decl in decls if decl.name]


def parse_names(text: str) -> list[str | None]:
    """Names a member declaration declares, None for an unnamed bitfield (``unsigned char :0;``).

    Raises :class:`ScenarioError` when the text is not a member declaration.
    """
    body, _ = _strip_annotations(text, _NO_ABI)
    return [decl.name for decl in _parse_member_decls(body, text)]


def declaration_needs(text: str) -> tuple[set[str], set[str]]:
    """(structs/unions used by value, type names) a member declaration needs from the build.

    Type names are typedef names and ``enum X`` for enums used by value (the
    reader fills ``build.enums["X"]`` for those).  Lets a caller ask the reader
    for just these (``read_input(path, structs, types)``); pointers need nothing,
    so their targets are not listed.  ``([], [])`` if unparsable.
    """
    body, _ = _strip_annotations(text, _NO_ABI)
    try:
        decls = _parse_member_decls(body, text)
    except ScenarioError:
        return set(), set()
    structs: set[str] = set()
    types: set[str] = set()
    for decl in decls:
        _collect_needs(decl.type, structs, types)
    return structs, types


def _collect_needs(node: c_ast.Node, structs: set[str], types: set[str]) -> None:
    if isinstance(node, (c_ast.PtrDecl, c_ast.FuncDecl)):
        return
    if isinstance(node, (c_ast.ArrayDecl, c_ast.TypeDecl)):
        _collect_needs(node.type, structs, types)
    elif isinstance(node, (c_ast.Struct, c_ast.Union)) and node.name:
        structs.add(node.name)
    elif isinstance(node, c_ast.Enum) and node.name:
        types.add(f"enum {node.name}")
    elif isinstance(node, c_ast.IdentifierType):
        if len(node.names) == 1 and node.names[0] not in _C_KEYWORDS:
            types.add(node.names[0])


def _strip_annotations(text: str, abi: Abi) -> tuple[str, int | None]:
    """Drop comments and layout-neutral annotations; return the alignment they asked for."""
    text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.DOTALL)
    text = _expand_macros(text, abi)
    align: int | None = None
    for macro in re.findall(r"\b____cacheline_aligned\w*|\b__cacheline_aligned\w*", text):
        align = max(align or 0, abi.cacheline_size)
        text = text.replace(macro, " ")
    for match in list(re.finditer(r"\b__aligned\s*\(((?:[^()]|\([^()]*\))*)\)", text)):
        align = max(align or 0, _alignment_value(match.group(1), abi))
        text = text.replace(match.group(0), " ")
    text, attr_align = _strip_gnu_attributes(text, abi)
    if attr_align:
        align = max(align or 0, attr_align)
    for word in _NOISE_WORDS:
        text = re.sub(rf"\b{word}\b", " ", text)
    return text.strip(), align


def _expand_macros(text: str, abi: Abi) -> str:
    """Kernel declaration macros written as the declarations they expand to."""
    for call in _NOISE_CALLS:
        text = re.sub(rf"\b{call}\s*\([^()]*\)", " ", text)
    bitmap = re.match(r"^\s*DECLARE_BITMAP\s*\(\s*(\w+)\s*,\s*(.+?)\s*\)\s*;?\s*$", text, flags=re.DOTALL)
    if bitmap:
        bits = abi.pointer_size * 8
        text = f"unsigned long {bitmap.group(1)}[(({bitmap.group(2)}) + {bits - 1}) / {bits}];"
    reserve = re.match(r"^\s*(\w+)\s*\(\s*(\w+)\s*\)\s*;?\s*$", text)
    if reserve and reserve.group(1) in _RESERVE_MACROS:
        text = _RESERVE_MACROS[reserve.group(1)].format(n=reserve.group(2)) + ";"
    return text


def _alignment_value(expr: str, abi: Abi) -> int:
    """The value of an alignment expression: a number, or ``sizeof`` of a C base type or pointer, times a number."""
    def size_of(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.endswith("*"):
            return str(abi.pointer_size)
        sign, kind = base_type_words(name.split())
        if kind == "long" or name in ("size_t", "ssize_t", "uintptr_t"):
            return str(abi.pointer_size)
        sizes = {"u8": 1, "s8": 1, "u16": 2, "s16": 2, "u32": 4, "s32": 4, "u64": 8, "s64": 8}
        return str(sizes.get(name, _BASE_SIZES.get(kind, 0)))
    text = re.sub(r"\bsizeof\s*\(\s*([\w\s*]+?)\s*\)", size_of, expr)
    if not re.fullmatch(r"[\d\s*()]+", text):
        raise ScenarioError(f"cannot evaluate the alignment '{expr.strip()}': write the number itself")
    value = 1
    for number in re.findall(r"\d+", text):
        value *= int(number)
    if value <= 0 or value & (value - 1):
        raise ScenarioError(f"alignment '{expr.strip()}' is {value}, not a power of two")
    return value


def _strip_gnu_attributes(text: str, abi: Abi) -> tuple[str, int | None]:
    """Remove ``__attribute__((...))`` groups (balanced parentheses), keeping ``aligned(n)``."""
    align: int | None = None
    while True:
        match = re.search(r"\b__attribute__\s*\(", text)
        if not match:
            return text, align
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        group = text[match.start():end + 1]
        found = re.search(r"aligned__\s*\(((?:[^()]|\([^()]*\))*)\)|\baligned\s*\(((?:[^()]|\([^()]*\))*)\)",
                          group)
        if found:
            align = max(align or 0, _alignment_value(found.group(1) or found.group(2), abi))
        text = text[:match.start()] + " " + text[end + 1:]


def _candidate_typedefs(text: str) -> list[str]:
    """Identifiers that could be typedef names: not keywords, not struct/union/enum tags."""
    names: list[str] = []
    for match in re.finditer(r"[A-Za-z_]\w*", text):
        word = match.group()
        before = text[:match.start()].rstrip()
        if word in _C_KEYWORDS or re.search(r"\b(struct|union|enum)$", before) or word in names:
            continue
        names.append(word)
    return names


def _typedef_subsets(names: list[str]) -> Iterator[tuple[str, ...]]:
    """Subsets of ``names``, smallest first; large sets are only tried up to three names."""
    limit = len(names) if len(names) <= 8 else 3
    subsets = itertools.chain.from_iterable(itertools.combinations(names, size) for size in range(limit + 1))
    yield from itertools.islice(subsets, MAX_TYPEDEF_GUESSES)  # each guess is a parse: keep garbage cheap


@functools.lru_cache(maxsize=1024)  # a scenario repeats its declarations; parsing dominates otherwise
def _parse_with_typedefs(template: str, text: str, accept: Callable[[c_ast.FileAST], bool]) -> c_ast.FileAST:
    """Parse ``template`` with ``@`` replaced by ``text``, pre-declaring the fewest typedefs needed.

    ``accept`` rejects parses that succeed with the wrong meaning (``sizeof(pid_t)``
    parses as an expression until ``pid_t`` is declared a typedef); it must be the same
    function for the same template (the result is cached).  Callers must not modify the tree.
    """
    for subset in _typedef_subsets(_candidate_typedefs(text)):
        prelude = "".join(f"typedef int {name};\n" for name in subset)
        try:
            ast = _parser.parse(prelude + template.replace("@", text), filename="<declaration>")
        except Exception:  # noqa: BLE001, S112 - any parse failure means "try more typedefs"
            continue
        if accept(ast):
            return ast
    raise ScenarioError(f"cannot parse declaration '{text.strip()}'")


def _has_member_decls(tree: c_ast.FileAST) -> bool:
    return bool(tree.ext[-1].type.decls)


def _is_type_name(tree: c_ast.FileAST) -> bool:
    return isinstance(tree.ext[-1].init.expr, c_ast.Typename)


def _parse_member_decls(body: str, original: str) -> list[c_ast.Decl]:
    body = body.strip()
    if body and not body.endswith(";"):
        body += ";"
    check_declaration(body)
    try:
        ast = _parse_with_typedefs("struct __layoutcalc_probe { @ };", body, _has_member_decls)
    except ScenarioError:
        raise ScenarioError(f"cannot parse declaration '{original.strip()}'") from None
    return list(ast.ext[-1].type.decls)


def _parse_type_name(text: str) -> c_ast.Node:
    check_declaration(text)
    try:
        ast = _parse_with_typedefs("int __layoutcalc_probe = sizeof(@);", text, _is_type_name)
    except ScenarioError:
        raise ScenarioError(f"cannot parse type name '{text.strip()}'") from None
    return ast.ext[-1].init.expr.type


def _eval_const(node: c_ast.Node) -> int:
    """Value of an integer constant expression (array bounds, bitfield widths).

    Arithmetic is C's (division truncates toward zero) on values that must fit
    in 64 bits; anything else is a :class:`ScenarioError` naming the expression.
    """
    if isinstance(node, c_ast.Constant) and node.type in ("int", "unsigned int", "long int", "unsigned long int",
                                                          "long long int", "unsigned long long int"):
        return _checked(node, _int_literal(node.value))
    if isinstance(node, c_ast.UnaryOp) and node.op in ("-", "+"):
        value = _eval_const(node.expr)
        return _checked(node, -value if node.op == "-" else value)
    if isinstance(node, c_ast.BinaryOp) and node.op in _BINARY_OPS:
        left, right = _eval_const(node.left), _eval_const(node.right)
        if node.op in ("/", "%") and right == 0:
            raise ScenarioError(f"division by zero in '{_c_text(node)}'")
        if node.op in ("<<", ">>") and not 0 <= right < 64:
            raise ScenarioError(f"shift count {right} out of range 0..63 in '{_c_text(node)}'")
        return _checked(node, _BINARY_OPS[node.op](left, right))
    raise ScenarioError(f"cannot evaluate '{_c_text(node)}': write the number itself "
                        "(enumerators and macros are not in the debug info)")


def _c_divide(left: int, right: int) -> int:
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


_BINARY_OPS: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _c_divide,
    "%": lambda a, b: a - _c_divide(a, b) * b,
    "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b,
}


def _int_literal(text: str) -> int:
    digits = text.rstrip("uUlL")
    if re.fullmatch(r"0[0-7]+", digits):
        return int(digits, 8)  # C octal; Python's int(..., 0) refuses a leading zero
    try:
        return int(digits, 0)
    except ValueError:
        raise ScenarioError(f"'{text}' is not a valid integer constant") from None


def _checked(node: c_ast.Node, value: int) -> int:
    """``value``, if it fits in 64 bits (signed or unsigned), as in the C compiler."""
    if not -(1 << 63) <= value < (1 << 64):
        raise ScenarioError(f"'{_c_text(node)}' overflows 64 bits")
    return value


def _c_text(node: c_ast.Node) -> str:
    return str(c_generator.CGenerator().visit(node))


def base_type_words(names: list[str]) -> tuple[str, str]:
    """(signedness, kind) of a C base type spelled any way: ``unsigned long`` == ``long unsigned int``."""
    words = [w for w in names if w not in ("const", "volatile")]
    sign = "unsigned" if "unsigned" in words else ("signed" if "signed" in words else "")
    rest = [w for w in words if w not in ("signed", "unsigned")]
    if sign == "signed" and "char" not in rest:
        sign = ""  # only char has three signednesses
    longs = rest.count("long")
    if "char" in rest:
        kind = "char"
    elif "short" in rest:
        kind = "short"
    elif "double" in rest:
        kind = "long double" if longs else "double"
    elif longs >= 2:
        kind = "long long"
    elif longs == 1:
        kind = "long"
    elif "float" in rest:
        kind = "float"
    elif "_Bool" in rest or "bool" in rest:
        kind = "_Bool"
    else:
        kind = "int"
    return sign, kind


def _gcc_spelling(sign: str, kind: str) -> str:
    """The name gcc gives the base type in DWARF (``long unsigned int``)."""
    if kind in ("char", "float", "double", "long double", "_Bool"):
        return f"{sign} {kind}".strip()
    suffix = "" if kind == "int" else " int"
    if sign == "unsigned":
        return f"{kind} unsigned{suffix}" if kind != "int" else "unsigned int"
    return f"{kind}{suffix}"


def _inline_enum(node: c_ast.Enum) -> EnumType:
    """``enum { A, B = 4, C }`` written in a member declaration: gcc's ``unsigned int`` (or ``int`` with a
    negative enumerator); one wider than 32 bits is refused."""
    values: list[tuple[str, int]] = []
    current = -1
    for item in node.values.enumerators:
        current = _eval_const(item.value) if item.value is not None else current + 1
        values.append((item.name, current))
    low = min((v for _, v in values), default=0)
    high = max((v for _, v in values), default=0)
    if low < -(1 << 31) or high >= (1 << 32) or (low < 0 and high >= (1 << 31)):
        raise ScenarioError("an inline enum with enumerators wider than 32 bits is not modelled")
    return EnumType(None, 4, "signed" if low < 0 else "unsigned", enumerators=values)


class _TypeResolver:
    """Turns pycparser type nodes into model types, looking names up in one build."""

    def __init__(self, build: Build, abi: Abi) -> None:
        self.build = build
        self.abi = abi

    def resolve(self, node: c_ast.Node, under_pointer: bool = False) -> Type:
        if isinstance(node, c_ast.TypeDecl):
            return self._qualify(self._specifier(node.type, under_pointer), node.quals)
        if isinstance(node, c_ast.PtrDecl):
            target = self.resolve(node.type, under_pointer=True)
            return self._qualify(PointerType(target, self.abi.pointer_size), node.quals)
        if isinstance(node, c_ast.ArrayDecl):
            return self._array(node, under_pointer)
        if isinstance(node, c_ast.FuncDecl):
            return FunctionType(self.resolve(node.type, under_pointer=True), *self._params(node))
        raise ScenarioError(f"unsupported C type construct {type(node).__name__}")

    def _params(self, node: c_ast.FuncDecl) -> tuple[list[Type], bool]:
        """The parameter types of a function type (as the debug info names them), and whether it is variadic."""
        params: list[Type] = []
        variadic = False
        for param in (node.args.params if node.args is not None else []):
            if isinstance(param, c_ast.EllipsisParam):
                variadic = True
                continue
            kind = getattr(param, "type", None)
            if kind is None:
                continue
            try:
                resolved = self.resolve(kind, under_pointer=True)
            except (ScenarioError, NotFoundError):
                return [], False  # a parameter type the build lacks: the name is then only approximate
            if isinstance(resolved, VoidType) and not params:
                continue  # (void)
            if isinstance(resolved, ArrayType):
                resolved = PointerType(resolved.element, self.abi.pointer_size)
            params.append(resolved)
        return params, variadic

    def _array(self, node: c_ast.ArrayDecl, under_pointer: bool) -> ArrayType:
        element = self.resolve(node.type, under_pointer)
        count = None if node.dim is None else _eval_const(node.dim)
        inner = element.strip()
        if isinstance(inner, FunctionType):
            raise ScenarioError("an array of functions is not a C type (use an array of function pointers)")
        if isinstance(inner, ArrayType) and inner.count is None:
            raise ScenarioError("only the outermost bound of an array may be left out")
        if isinstance(inner, VoidType) and not under_pointer:
            raise ScenarioError("an array of void is not a C type")
        if count is not None and count < 0:
            raise ScenarioError(f"array bound {count} is negative")
        array = ArrayType(element, count)
        if array.size_bytes > MAX_OBJECT_SIZE:
            raise ScenarioError(f"array of {array.size_bytes} bytes exceeds the {MAX_OBJECT_SIZE}-byte limit "
                                "on a struct member")
        return array

    @staticmethod
    def _qualify(target: Type, quals: list[str]) -> Type:
        for qual in quals:
            target = QualifiedType(qual, target)
        return target

    def _specifier(self, node: c_ast.Node, under_pointer: bool) -> Type:
        if isinstance(node, c_ast.Struct):
            return self._aggregate("struct", node.name, under_pointer)
        if isinstance(node, c_ast.Union):
            return self._aggregate("union", node.name, under_pointer)
        if isinstance(node, c_ast.Enum):
            return self._enum(node, under_pointer)
        if isinstance(node, c_ast.IdentifierType):
            return self._named(node.names, under_pointer)
        raise ScenarioError(f"unsupported C type specifier {type(node).__name__}")

    def _aggregate(self, kind: str, name: str | None, under_pointer: bool) -> Type:
        table = self.build.structs if kind == "struct" else self.build.unions
        if name is None:
            raise ScenarioError(f"an anonymous {kind} cannot be defined inline here; "
                                "define it as a named helper type")
        found = table.get(name)
        if found is not None and not found.is_declaration:
            return found
        if under_pointer:
            return found or StructType(kind, name, 0, is_declaration=True)
        raise NotFoundError(f"{self.build.name}: {kind} {name} is not defined in the build "
                            "(load it too, or use a pointer to it)")

    def _enum(self, node: c_ast.Enum, under_pointer: bool) -> Type:
        if node.name is None and node.values is not None:
            return _inline_enum(node)
        if node.name is None or node.values is not None:
            raise ScenarioError("an enum cannot be defined inline here; name one the build has")
        found = self.build.enums.get(node.name)
        if found is not None:
            return found
        if under_pointer:
            return EnumType(node.name, 0, is_declaration=True)
        raise NotFoundError(f"{self.build.name}: unknown type 'enum {node.name}' (not in the build's debug info; "
                            "load it too, or use a pointer to it)")

    def _named(self, names: list[str], under_pointer: bool) -> Type:
        if names == ["void"]:
            return VoidType()
        if len(names) == 1 and names[0] not in _C_KEYWORDS:
            return self._typedef(names[0], under_pointer)
        return self._base_type(names)

    def _typedef(self, name: str, under_pointer: bool) -> Type:
        if name in self.build.typedefs:
            return self.build.typedefs[name]
        if name in self.build.base_types:
            return self.build.base_types[name]
        reachable = build_typedefs(self.build).get(name)
        if reachable is not None:
            return reachable
        if name == "bool":  # the kernel's typedef _Bool bool, where the build keeps no typedef of it
            return self._base_type(["_Bool"])
        if under_pointer:
            return TypedefType(name, VoidType())
        raise NotFoundError(f"{self.build.name}: unknown type '{name}' (not a typedef or base type "
                            "in the build's debug info)")

    def _base_type(self, names: list[str]) -> BaseType:
        sign, kind = base_type_words(names)
        for base in self.build.base_types.values():
            words = base.name.split()
            if set(words) <= _BASE_WORDS and base_type_words(words) == (sign, kind):
                return base
        return self._abi_base_type(sign, kind)

    def _abi_base_type(self, sign: str, kind: str) -> BaseType:
        if kind == "long":
            size = self.abi.pointer_size
        elif kind == "long double":
            size = self.abi.long_double_size
        else:
            size = _BASE_SIZES[kind]
        if kind in ("float", "double", "long double"):
            encoding = "float"
        elif kind == "_Bool":
            encoding = "bool"
        elif kind == "char":
            encoding = "char" if not sign else sign
        else:
            encoding = "unsigned" if sign == "unsigned" else "signed"
        return BaseType(_gcc_spelling(sign, kind), size, encoding)


_typedef_cache: dict[int, tuple[Build, dict[str, TypedefType]]] = {}


def build_typedefs(build: Build) -> dict[str, TypedefType]:
    """Every typedef ``build`` holds by value: its own table, then those its structs' members use.

    A snapshot keeps the typedefs a scenario asked for in its table, and every
    other one (``u64``, ``bool``, ``atomic_t``...) only inside the structs that use
    it; both are types the build defines.  Cached per build (the last one asked).
    """
    cached = _typedef_cache.get(id(build))
    if cached is not None and cached[0] is build:
        return cached[1]
    found: dict[str, TypedefType] = dict(build.typedefs)
    for node in reachable([*build.structs.values(), *build.unions.values(), *build.typedefs.values()]):
        if isinstance(node, TypedefType) and node.name and node.name not in found \
                and not isinstance(node.target.strip(), VoidType):
            found[node.name] = node
    _typedef_cache.clear()
    _typedef_cache[id(build)] = (build, found)
    return found
