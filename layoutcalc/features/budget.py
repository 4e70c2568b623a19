"""Baselines and budgets: is a build's struct growth within what the project allows?

A *baseline* is a :class:`~layoutcalc.features.diff.Catalogue` written as
compact JSON (one struct per line, so it diffs well in git).  A *budget*
file (TOML) says, per struct name or shell glob, how many bytes a struct
may grow and whether crossing into another cacheline count or allocation
size class is a regression by itself; an allow-list exempts structs
entirely.  Without a budget file every growth is a regression::

    [defaults]            # for structs no rule names (these are the defaults)
    growth = 0            # bytes a struct may grow
    cachelines = true     # one more cacheline is a regression even within the growth
    size_class = true     # another kmalloc size class / slab geometry is a regression
    knock_on = false      # true: also allow the growth this struct causes in the structs embedding it

    [struct.task_struct]  # a rule per name or glob; an exact name wins over globs,
    growth = 64           # then the first matching glob in file order
    cachelines = false

    [struct."trace_event_raw_*"]
    growth = 16

    allow = ["btrfs_*"]   # (top level) never a regression
"""

from __future__ import annotations

import fnmatch
import json
import os
import stat
from typing import Any, NamedTuple, Optional

from ..errors import InputError
from ..structured import bounded_int, check_tree, load_toml
from .diff import (
    Catalogue,
    DiffResult,
    Hole,
    MemberLayout,
    SlabFigures,
    StructChange,
    StructLayout,
    diff_catalogues,
)

BASELINE_FORMAT = "layoutcalc-baseline"
MAX_BASELINE_BYTES = 256 << 20  # a whole distribution kernel is tens of MB; JSON costs 2x in memory
# A Debian 6.1 vmlinux holds about 7,500 structs and unions (with same-name variants); the largest
# allyesconfig builds stay well under 20,000. Checking 110,000 entries took over 5 s (fuzz run).
MAX_BASELINE_STRUCTS = 65_536
BASELINE_VERSION = 1


# --------------------------------------------------------------------------- baseline codec


def _struct_line(layout: StructLayout, cacheline_size: int) -> str:
    entry = {
        "kind": layout.kind, "name": layout.name, "size": layout.size,
        "cachelines": layout.cachelines(cacheline_size), "padding": layout.padding,
        "members": [[m.name, m.type_name, m.bit_offset, m.size, m.bit_size] for m in layout.members],
        "holes": [[h.after, h.offset, h.size] for h in layout.holes],
    }
    if layout.bit_holes is not None:
        entry["bit_holes"] = [[h.after, h.offset, h.size] for h in layout.bit_holes]
    return json.dumps(entry, separators=(",", ":"))


def baseline_text(catalogue: Catalogue, input_path: str) -> str:
    """The baseline file's text: a header object whose ``structs`` list has one struct per line."""
    header = {
        "format": BASELINE_FORMAT, "version": BASELINE_VERSION, "input": os.path.basename(input_path),
        "build": catalogue.name, "arch": catalogue.arch, "cacheline_size": catalogue.cacheline_size,
        "source": catalogue.source, "patterns": list(catalogue.patterns),
        "slab": {name: figures._asdict() for name, figures in catalogue.slab.items()},
    }
    head = json.dumps(header, separators=(",", ":"))[:-1]
    lines = [_struct_line(layout, catalogue.cacheline_size)
             for layouts in catalogue.layouts.values() for layout in layouts]
    return head + ',"structs":[\n' + ",\n".join(lines) + "\n]}\n"


def _field(entry: Any, key: str, kind: type, path: str, where: str) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise InputError(f"{path}: {where} has no '{key}'")
    value = entry[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{path}: {where}: '{key}' should be {kind.__name__}, not {type(value).__name__}")
    return value


def _layout_from(entry: Any, path: str, index: int) -> StructLayout:
    where = f"structs[{index}]"
    name = _field(entry, "name", str, path, where)
    where = f"structs[{index}] ({name})"
    kind = _field(entry, "kind", str, path, where)
    size = _field(entry, "size", int, path, where)
    padding = _field(entry, "padding", int, path, where)
    if kind not in ("struct", "union") or size < 0:
        raise InputError(f"{path}: {where}: kind must be struct or union and size not negative")
    try:
        members = tuple(MemberLayout(str(m[0]), str(m[1]), int(m[2]), int(m[3]), int(m[4]))
                        for m in _field(entry, "members", list, path, where))
        holes = tuple(Hole(str(h[0]), int(h[1]), int(h[2])) for h in _field(entry, "holes", list, path, where))
        bit_holes = None if "bit_holes" not in entry else tuple(
            Hole(str(h[0]), int(h[1]), int(h[2])) for h in _field(entry, "bit_holes", list, path, where))
    except (TypeError, ValueError, IndexError, KeyError, OverflowError):  # OverflowError: Infinity
        raise InputError(f"{path}: {where}: members are [name, type, bit_offset, size, bit_size] and "
                         "holes [after, offset, size]") from None
    if padding < 0 or not all(0 <= m.bit_offset and 0 <= m.bit_size and 0 <= m.size and m.bit_offset + (
            m.bit_size or 8 * m.size) <= 8 * size for m in members) or not all(
            0 <= h.offset and 0 <= h.size and h.offset + h.size <= size for h in holes):
        raise InputError(f"{path}: {where}: a member, hole or padding lies outside the {size}-byte {kind}")
    return StructLayout(kind, name, size, members, holes, padding, bit_holes)


def is_baseline(path: str) -> bool:
    """Whether ``path`` looks like a baseline file (its header names the format); False when unreadable."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the sniffing read
            return False
        with open(path, "rb") as stream:
            head = stream.read(256)
    except OSError:
        return False
    return f'"format":"{BASELINE_FORMAT}"'.encode() in head


def write_baseline(catalogue: Catalogue, input_path: str, out: str) -> None:
    """Write the baseline of ``catalogue`` to ``out`` through the safe-write helper (checked by reading it back)."""
    from ..safe_write import write_text
    write_text(out, baseline_text(catalogue, input_path), validate=lambda data: baseline_from_bytes(data, out))


def read_baseline(path: str) -> Catalogue:
    """The catalogue stored at ``path`` by :func:`write_baseline`; one-line InputError when it is not one."""
    from ..safe_read import check_regular_file, read_bytes
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a baseline file")
    check_regular_file(path, what="baseline")
    return baseline_from_bytes(read_bytes(path, "baseline", MAX_BASELINE_BYTES), path)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a number a baseline holds")


def baseline_from_bytes(raw: bytes, path: str) -> Catalogue:
    """Parse and validate a baseline file's bytes (``path`` for messages)."""
    try:
        data = check_tree(json.loads(raw.decode("utf-8"), parse_constant=_no_constants, parse_int=bounded_int),
                          path, InputError)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a baseline: not UTF-8 text (byte offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not a baseline: malformed JSON at line {exc.lineno} column {exc.colno}: "
                         f"{exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # NaN/Infinity, or nesting deeper than the parser goes
        raise InputError(f"{path}: not a baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise InputError(f"{path}: not a layoutcalc baseline (no \"format\": \"{BASELINE_FORMAT}\"); "
                         "write one with 'layoutcalc baseline INPUT -o FILE'")
    if data.get("version") != BASELINE_VERSION:
        raise InputError(f"{path}: baseline version {data.get('version')!r} is not supported "
                         f"(this layoutcalc reads version {BASELINE_VERSION})")
    cacheline = _field(data, "cacheline_size", int, path, "the header")
    layouts: dict[str, list[StructLayout]] = {}
    entries = _field(data, "structs", list, path, "the header")
    if len(entries) > MAX_BASELINE_STRUCTS:
        raise InputError(f"{path}: not a baseline: {len(entries)} structs, more than any kernel build holds "
                         f"(at most {MAX_BASELINE_STRUCTS})")
    for index, entry in enumerate(entries):
        layout = _layout_from(entry, path, index)
        layouts.setdefault(layout.label, []).append(layout)
    try:
        slab = {name: SlabFigures(**figures) for name, figures in dict(data.get("slab") or {}).items()}
        patterns = tuple(str(p) for p in data.get("patterns") or ())
    except (TypeError, ValueError):
        raise InputError(f"{path}: 'slab' or 'patterns' do not have the expected shape") from None
    return Catalogue(str(data.get("build", "")), str(data.get("arch", "")), cacheline,
                     str(data.get("source", "")), {k: tuple(v) for k, v in sorted(layouts.items())}, slab, patterns)


# --------------------------------------------------------------------------- budgets


class Rule(NamedTuple):
    """What growth is allowed for structs matching ``pattern`` ("*" for the defaults)."""

    pattern: str
    growth: int = 0
    cachelines: bool = True
    size_class: bool = True
    knock_on: bool = False


class Budget(NamedTuple):
    """A parsed budget file: per-pattern rules, the defaults, and the allow-list."""

    path: str
    defaults: Rule
    rules: tuple[Rule, ...]
    allow: tuple[str, ...]

    def rule_for(self, name: str) -> Rule:
        """The rule of ``name``: an exact name, else the first matching glob, else the defaults."""
        for rule in self.rules:
            if rule.pattern == name:
                return rule
        for rule in self.rules:
            if fnmatch.fnmatchcase(name, rule.pattern):
                return rule
        return self.defaults

    def allows(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.allow)


NO_BUDGET = Budget("", Rule("*"), (), ())
_RULE_KEYS = {"growth": int, "cachelines": bool, "size_class": bool, "knock_on": bool}


def _rule(table: Any, pattern: str, path: str, where: str, base: Rule) -> Rule:
    if not isinstance(table, dict):
        raise InputError(f"{path}: {where} should be a table of growth/cachelines/size_class/knock_on")
    values = base._asdict()
    values["pattern"] = pattern
    for key, value in table.items():
        expected = _RULE_KEYS.get(key)
        if expected is None:
            raise InputError(f"{path}: {where}: unknown key '{key}' (growth, cachelines, size_class, knock_on)")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            wanted = "an integer" if expected is int else "true or false"
            raise InputError(f"{path}: {where}: '{key}' should be {wanted}, not {value!r}")
        if key == "growth" and isinstance(value, int) and value < 0:
            raise InputError(f"{path}: {where}: 'growth' is a number of bytes, not negative ({value})")
        values[key] = value
    return Rule(**values)


def read_budget(path: str) -> Budget:
    """Parse the budget TOML at ``path``; one-line InputError naming the file and the problem."""
    from ..safe_read import check_regular_file, read_text
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a budget file")
    check_regular_file(path, what="budget")
    data = load_toml(read_text(path, "budget"), path, InputError,
                     malformed=lambda exc: InputError(f"{path}: not a valid budget: TOML error: {exc}"))
    unknown = sorted(set(data) - {"defaults", "struct", "allow"})
    if unknown:
        raise InputError(f"{path}: unknown key '{unknown[0]}' (expected [defaults], [struct.NAME] and allow)")
    defaults = _rule(data.get("defaults", {}), "*", path, "[defaults]", Rule("*"))
    structs = data.get("struct", {})
    if not isinstance(structs, dict):
        raise InputError(f"{path}: 'struct' should be tables such as [struct.task_struct]")
    rules = tuple(_rule(table, pattern, path, f"[struct.{pattern}]", defaults) for pattern, table in structs.items())
    allow = data.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(item, str) for item in allow):
        raise InputError(f"{path}: 'allow' should be a list of struct names or globs")
    return Budget(path, defaults, rules, tuple(allow))


# --------------------------------------------------------------------------- check


class Cause(NamedTuple):
    """An embedded struct whose growth explains (part of) its embedder's: ``bytes`` it added there."""

    label: str
    member: str
    bytes: int


class Verdict(NamedTuple):
    """The judgement on one struct that grew (or crossed a line): ``reasons`` empty means within budget.

    ``causes`` are the embedded structs that grew with it; ``knock_on`` the
    bytes of its growth that their rules (``knock_on = true``) allow.
    """

    change: StructChange
    rule: Rule
    allowed: bool
    reasons: tuple[str, ...]
    causes: tuple[Cause, ...] = ()
    knock_on: int = 0

    @property
    def regression(self) -> bool:
        return bool(self.reasons) and not self.allowed

    @property
    def passes_knock_on(self) -> bool:
        """Whether the growth this struct causes in its embedders is allowed too."""
        return not self.regression and (self.rule.knock_on or self.knock_on > 0)


class CheckResult(NamedTuple):
    """``check``'s answer: the diff against the baseline and a verdict per grown struct."""

    diff: DiffResult
    budget: Budget
    verdicts: tuple[Verdict, ...]
    warnings: tuple[str, ...] = ()  # one result per command: what the CLI prints as 'warning: ...' (none yet)

    @property
    def regressions(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.regression)


def embedded_label(type_name: str) -> Optional[str]:
    """The catalogue label of a member's type when it embeds a struct or union by value, else None.

    ``struct device`` -> ``device``, ``union foo [4]`` -> ``union foo``; pointers and scalars give None.
    """
    base = type_name.split(" [", 1)[0]
    if "*" in base or "(" in base:
        return None
    if base.startswith("struct "):
        return base[len("struct "):]
    if base.startswith("union "):
        return base
    return None


def causes_of(change: StructChange, grown: dict[str, StructChange]) -> tuple[Cause, ...]:
    """The members of ``change`` that embed a struct in ``grown`` and grew with it, with the bytes they added."""
    found = []
    for member in change.members:
        if member.change != "resized" or member.old is None or member.new is None:
            continue
        if member.old.type_name != member.new.type_name or member.new.size <= member.old.size:
            continue
        label = embedded_label(member.new.type_name)
        if label is not None and label in grown:
            found.append(Cause(label, member.name, member.new.size - member.old.size))
    return tuple(found)


def judge(change: StructChange, budget: Budget, cacheline_size: int,
          causes: tuple[Cause, ...] = (), knock_on: int = 0) -> Verdict:
    """Whether ``change`` breaks ``budget``, and why; ``knock_on`` bytes of its growth are allowed by its causes."""
    name = change.old.name if change.old else change.label
    rule = budget.rule_for(name)
    reasons = []
    if change.delta > rule.growth + knock_on:
        allowance = f"budget {rule.growth}" + (f" + {knock_on} knock-on" if knock_on else "")
        caused = f" ({', '.join(dict.fromkeys(c.label for c in causes))} grew inside it)" if causes else ""
        reasons.append(f"grew {change.delta} bytes, {allowance}{caused}")
    if 0 < change.delta <= knock_on:  # all of it knock-on: the cause's rule accepted its consequences too
        return Verdict(change, rule, budget.allows(name), tuple(reasons), causes, knock_on)
    old_lines, new_lines = change.cachelines(cacheline_size)
    if rule.cachelines and new_lines > old_lines:
        reasons.append(f"cachelines {old_lines} -> {new_lines}")
    if rule.size_class and change.delta > 0:
        reasons.extend(size_class_reasons(change))
    return Verdict(change, rule, budget.allows(name), tuple(reasons), causes, knock_on)


def size_class_reasons(change: StructChange) -> list[str]:
    """The allocation lines ``change`` crossed, in the cache that really holds the struct.

    A struct with a cache of its own (task_struct, signal_cache, pid) is
    judged by that cache's objects per slab and slab order, never by the
    kmalloc class its size would fall in; any other struct by its kmalloc
    size class.
    """
    if change.slab is not None:
        if not change.slab.crossed:
            return []
        old, new = change.slab.old, change.slab.new
        return [f"{old.cache} cache: {old.objs_per_slab} -> {new.objs_per_slab} objects per slab, "
                f"order {old.order} -> {new.order}"]
    old_class, new_class = change.size_classes()
    if old_class != new_class:
        return [f"size class {old_class} -> {new_class}"]
    return []


def check(current: Catalogue, baseline: Catalogue, budget: Optional[Budget] = None) -> CheckResult:
    """Compare ``current`` with ``baseline`` and judge every struct that grew against ``budget``.

    Embedded structs are judged before their embedders, so that a rule with
    ``knock_on = true`` can allow the growth it causes further out.
    """
    budget = budget or NO_BUDGET
    result = diff_catalogues(baseline, current)
    grown = {change.label: change for change in result.changes if change.status == "grown"}
    verdicts: dict[str, Verdict] = {}

    def verdict_of(label: str, seen: frozenset[str]) -> Verdict:
        if label not in verdicts:
            change = grown[label]
            causes = causes_of(change, grown) if label not in seen else ()
            allowance = sum(cause.bytes for cause in causes
                            if verdict_of(cause.label, seen | {label}).passes_knock_on)
            verdicts[label] = judge(change, budget, current.cacheline_size, causes, allowance)
        return verdicts[label]

    ordered = tuple(verdict_of(change.label, frozenset()) if change.label in grown and grown[change.label] is change
                    else judge(change, budget, current.cacheline_size)
                    for change in result.changes if change.status == "grown")
    return CheckResult(result, budget, ordered)


def unknown_names(budget: Budget, catalogues: tuple[Catalogue, ...]) -> Optional[str]:
    """The first rule or allow entry of ``budget`` that names no struct of ``catalogues`` (a typo), as one line.

    Call it only with catalogues of whole builds: a limited one (``--struct``)
    leaves out structs a budget may rightly name.
    """
    import difflib
    from .diff import matches
    labels = {label for found in catalogues for label in found.layouts}
    bare_names = {label.split(" ", 1)[-1] for label in labels} | labels
    entries = [(rule.pattern, f"[struct.{rule.pattern}]") for rule in budget.rules]
    entries += [(pattern, f"allow entry '{pattern}'") for pattern in budget.allow]
    for pattern, where in entries:
        literal = not any(c in pattern for c in "*?[")
        if pattern in bare_names if literal else any(matches(label, [pattern]) for label in labels):
            continue
        bare = sorted(label.split(" ", 1)[-1] for label in labels)
        close = difflib.get_close_matches(pattern, bare, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        builds = " or ".join(dict.fromkeys(found.name for found in catalogues))
        return f"{budget.path}: {where} names no struct or union of {builds}{hint}"
    return None
