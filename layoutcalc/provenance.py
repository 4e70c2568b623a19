"""Where a build's data came from: one typed, frozen record that every reader fills.

A :class:`Provenance` has one field per fact a reader records; the fields that
steer behaviour say so.  ``None`` means "not recorded".  Facts this version does
not know (a hand-edited snapshot, a newer layoutcalc) are kept in ``extra`` as
read, and ``recorded`` keeps the order (and the nulls) a snapshot had, so that a
snapshot read and written again is byte-identical.  Source mode's config facts
are a record of the same kind (:class:`KernelConfigFacts`, its caches
:class:`RecordedCache`).

It is frozen, all the way down: a reader or a command that learns something
makes a new one with :func:`dataclasses.replace` (or :meth:`Provenance.with_facts`
for facts given as JSON, :meth:`~_Record.without` to forget one).

Its JSON form (a snapshot's ``build.provenance``) is an object whose keys are
the field names; ``to_json`` writes them in ``recorded`` order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Optional, TypeVar, Union

# A JSON value, frozen: arrays are tuples and objects read-only mappings (:class:`FrozenObject`).
JsonValue = Union[None, bool, int, float, str, tuple["JsonValue", ...], Mapping[str, "JsonValue"]]

_V = TypeVar("_V")
_R = TypeVar("_R", bound="_Record")


class FrozenObject(Mapping[str, _V]):
    """A read-only JSON object that pickles (results holding one go into the scan cache)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, _V]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> _V:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(self._items)


class _Record:
    """A typed JSON object: a frozen dataclass whose fields (but ``extra`` and ``recorded``) are its keys.

    Subclasses end with the two fields ``extra`` (keys without a field, as read) and ``recorded``
    (the keys written, in order: those read, then any field set later; a listed key whose field is
    ``None`` is written as ``null``).
    """

    extra: tuple[tuple[str, JsonValue], ...]
    recorded: tuple[str, ...]
    _where: ClassVar[str] = "provenance"

    @classmethod
    def field_keys(cls) -> tuple[str, ...]:
        """The JSON keys that have a field, in field order."""
        return tuple(_annotations(cls))

    def __post_init__(self) -> None:
        typed = _annotations(type(self))
        names = [key for key, _ in self.extra]
        twice = [key for key in names if key in typed or names.count(key) > 1]
        if twice:
            raise ValueError(f"{self._where}: extra fact '{twice[0]}' is a field or is given twice")
        if any(not _is_frozen(value) for _, value in self.extra):
            object.__setattr__(self, "extra", tuple((key, _frozen(value)) for key, value in self.extra))
        for key in typed:
            value = getattr(self, key)
            if isinstance(value, Mapping) and not isinstance(value, FrozenObject):
                object.__setattr__(self, key, FrozenObject(value))
        kept = tuple(key for key in self.recorded if key in typed or key in names)
        added = tuple(key for key in (*typed, *names) if key not in kept
                      and (key in names or getattr(self, key) is not None))
        if kept + added != self.recorded:
            object.__setattr__(self, "recorded", kept + added)

    @classmethod
    def from_json(cls: type[_R], data: Mapping[str, object], where: str = "") -> _R:
        """The record a JSON object holds; ValueError naming the key when a value has the wrong type."""
        typed = _annotations(cls)
        values: dict[str, object] = {}
        extra: list[tuple[str, JsonValue]] = []
        for key, value in data.items():
            if not isinstance(key, str):
                raise ValueError(f"{cls._where} key {key!r} is not a string")
            if key in typed:
                values[key] = _checked(f"{where}{key}", value, typed[key])
            else:
                extra.append((key, _frozen(value)))
        return cls(**values, extra=tuple(extra), recorded=tuple(data))  # type: ignore[call-arg]

    def to_json(self) -> dict[str, object]:
        """The JSON object of this record, keys in ``recorded`` order."""
        typed, extra = _annotations(type(self)), dict(self.extra)
        return {key: _thawed(getattr(self, key) if key in typed else extra[key]) for key in self.recorded}

    def without(self: _R, *keys: str) -> _R:
        """This record with ``keys`` no longer recorded."""
        typed = _annotations(type(self))
        return dataclasses.replace(self, **{key: None for key in keys if key in typed},  # type: ignore[type-var]
                                   extra=tuple(item for item in self.extra if item[0] not in keys),
                                   recorded=tuple(key for key in self.recorded if key not in keys))

    def extra_fact(self, key: str) -> JsonValue:
        """The value of a fact kept in ``extra`` (None when it is not recorded)."""
        return dict(self.extra).get(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{key}={value!r}' for key, value in self.to_json().items())})"


@dataclass(frozen=True, repr=False)
class RecordedCache(_Record):
    """Source mode: how the tree creates one cache (its ``kmem_cache_create`` call)."""

    _where: ClassVar[str] = "provenance kernel_config cache"

    file: Optional[str] = None
    """The source file of the call (``"kernel/fork.c"``)."""
    align: Optional[str] = None
    """Its align argument as written (``"ARCH_MIN_TASKALIGN"``, ``"0"``)."""
    flags: Optional[tuple[str, ...]] = None
    """Its ``SLAB_`` flags that are not defined as 0 in this tree.  Steers: they replace the shipped
    catalogue's flags (:mod:`layoutcalc.slab.specs`)."""
    flags_as_written: Optional[tuple[str, ...]] = None
    """Its ``SLAB_`` flags as written."""
    extra: tuple[tuple[str, JsonValue], ...] = ()
    recorded: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, repr=False)
class KernelConfigFacts(_Record):
    """Source mode: the config facts of the tree compiled, as the slab model reads them."""

    _where: ClassVar[str] = "provenance kernel_config"

    allocator: Optional[str] = None
    """``"slab"``, ``"slub"`` or ``"slob"`` (``CONFIG_SLAB``/``SLUB``/``SLOB``).  Steers the allocator."""
    l1_cache_bytes: Optional[int] = None
    """``L1_CACHE_BYTES``.  Steers the cache line of the slab model."""
    l1_cache_shift: Optional[int] = None
    """``L1_CACHE_SHIFT``."""
    page_size: Optional[int] = None
    """``PAGE_SIZE``.  Steers the slab model's page size."""
    nr_cpus: Optional[int] = None
    """``NR_CPUS`` (or ``CONFIG_NR_CPUS``)."""
    arch_min_taskalign: Optional[int] = None
    """``ARCH_MIN_TASKALIGN``.  Steers task_struct's cache alignment."""
    arch_slab_minalign: Optional[int] = None
    """``ARCH_SLAB_MINALIGN``."""
    caches: Optional[Mapping[str, RecordedCache]] = None
    """The tree's cache creation calls, by cache name."""
    cache_line_size: Optional[str] = None
    """How the tree defines ``cache_line_size()`` (``"(boot_cpu_data.x86_cache_alignment)"``)."""
    extra: tuple[tuple[str, JsonValue], ...] = ()
    recorded: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, repr=False)
class Provenance(_Record):
    """The facts a reader recorded about its input (a snapshot's ``build.provenance``).

    Field order is the order a fresh record is written in.  Every field defaults
    to ``None`` (not recorded).
    """

    file: Optional[str] = None
    """Base name of the input (DWARF), or the name the BTF reader was given."""
    format: Optional[str] = None
    """``"dwarf"``, ``"btf"`` or ``"kernel-source"`` (compiled from a tree).  Steers: on ``"btf"``
    alignments are inferred as pahole's BTF loader does (:mod:`layoutcalc.analysis.facts`, ``show``)."""
    dwarf_version: Optional[int] = None
    """DWARF version of the first C compile unit (2 to 5)."""
    producer: Optional[str] = None
    """``DW_AT_producer`` of the first C unit: compiler and flags.  Steers: ``-gstrict-dwarf`` in it
    means no alignment attributes were recorded (:func:`layoutcalc.analysis.facts.debug_info_of`)."""
    build_id: Optional[str] = None
    """The ELF's GNU build-id, in hex."""
    elf_type: Optional[str] = None
    """The ELF header's ``e_type`` as pyelftools names it (``"ET_EXEC"``, ``"ET_DYN"``, ``"ET_REL"``)."""
    machine: Optional[str] = None
    """The ELF header's ``e_machine`` as pyelftools names it (``"EM_X86_64"``, ``"EM_386"``, ...)."""
    btf_version: Optional[int] = None
    """The BTF header's version (1)."""
    num_types: Optional[int] = None
    """How many types the BTF holds (its ids run 1 to ``num_types``)."""
    arch_source: Optional[str] = None
    """Where a BTF input's ABI came from: ``"--arch"``, ``"ELF header"``, ``"this host"`` or
    ``"pointer size and byte order"``."""
    pointer_size_source: Optional[str] = None
    """``"long"`` when the BTF's ``long`` gave the pointer size, ``"ABI default"`` otherwise."""
    btf_base: Optional[str] = None
    """The base BTF a split BTF (a module's) was read against."""
    missing_structs: Optional[tuple[str, ...]] = None
    """Structs asked of a BTF reader that it does not define, sorted."""
    tree: Optional[str] = None
    """Source mode: the kernel tree compiled.  Steers: when it still holds a Makefile, the slab
    catalogue is scanned from it (:func:`layoutcalc.slab.catalogue.catalogue_for_build`)."""
    release: Optional[str] = None
    """The kernel release (``"2.6.22.19"``, ``"6.18.1-amd64"``): the tree's Makefile, or ``uname -r``
    for the running kernel.  Steers the kernel era, the shipped slab catalogue and ``history``'s columns."""
    config: Optional[str] = None
    """Source mode: the ``.config`` compiled with (absolute path)."""
    arch: Optional[str] = None
    """Source mode: the ABI asked for (``--arch``)."""
    compiler: Optional[str] = None
    """Source mode: the first line of ``CC --version``."""
    flags: Optional[tuple[str, ...]] = None
    """Source mode: the compiler's ``-m``/``-f``/``-std``/``-g``/``-D``/``--target`` flags."""
    alignment_attributes: Optional[bool] = None
    """DWARF: whether any ``DW_AT_alignment`` was seen.  Steers: ``False`` means an unexplained hole
    may be an unrecorded ``aligned`` attribute (:func:`layoutcalc.analysis.facts.debug_info_of`)."""
    structs_not_in_tree: Optional[tuple[str, ...]] = None
    """Source mode: structs asked for that no header of the tree defines."""
    cacheline_size: Optional[int] = None
    """The build's L1 cache line in bytes (a snapshot's; source mode: ``L1_CACHE_BYTES``).  Steers the
    cacheline comments of ``show`` (:func:`layoutcalc.api.cacheline_size_of`)."""
    kernel_config: Optional[KernelConfigFacts] = None
    """Source mode: the config facts the slab model reads (:class:`KernelConfigFacts`).  Steers the era,
    allocator, cache line and page size (:func:`layoutcalc.slab.era.decide_era`)."""
    package: Optional[str] = None
    """The package the input came from (``snapshot --package``)."""
    version: Optional[str] = None
    """That package's version, or a tree's commit (``snapshot --package-version``).  Steers the kernel
    era when no ``release`` is recorded (:func:`layoutcalc.slab.era.recorded_release`)."""
    retargeted_from: Optional[str] = None
    """The ABI the build was read for before ``--arch`` re-laid it out.  Steers: every alignment is
    then a recorded one, and what-if adds a note that this is not a real build of that ABI."""
    extra: tuple[tuple[str, JsonValue], ...] = ()
    """Facts this version has no field for, as (key, value) in the order read."""
    recorded: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """The keys written, in order (see :class:`_Record`)."""

    def with_facts(self, facts: Mapping[str, object]) -> Provenance:
        """This provenance with ``facts`` (JSON keys and values) added or replacing those recorded.

        Keys already recorded keep their place; new ones follow, in ``facts``' order.
        """
        return Provenance.from_json({**self.to_json(), **facts})


_ANNOTATIONS: dict[type, dict[str, str]] = {}


def _annotations(cls: type) -> dict[str, str]:
    """Each JSON key of a record class with its field's annotation (as written)."""
    if cls not in _ANNOTATIONS:
        _ANNOTATIONS[cls] = {f.name: str(f.type) for f in dataclasses.fields(cls)
                             if f.name not in ("extra", "recorded")}
    return _ANNOTATIONS[cls]


_WANTED = {"Optional[str]": "a string", "Optional[int]": "an integer", "Optional[bool]": "true or false",
           "Optional[tuple[str, ...]]": "a list of strings", "Optional[KernelConfigFacts]": "an object",
           "Optional[Mapping[str, RecordedCache]]": "an object of objects"}


def _checked(key: str, value: object, annotation: str) -> object:
    """``value`` as field ``key`` holds it; ValueError when JSON gave another type."""
    if value is None:
        return None
    if annotation == "Optional[str]" and isinstance(value, str):
        return value
    if annotation == "Optional[int]" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if annotation == "Optional[bool]" and isinstance(value, bool):
        return value
    if annotation == "Optional[tuple[str, ...]]" and isinstance(value, (list, tuple)) \
            and all(isinstance(item, str) for item in value):
        return tuple(value)
    if annotation == "Optional[KernelConfigFacts]" and isinstance(value, Mapping):
        return KernelConfigFacts.from_json(value, f"{key}.")
    if annotation == "Optional[Mapping[str, RecordedCache]]" and isinstance(value, Mapping) \
            and all(isinstance(item, Mapping) for item in value.values()):
        return FrozenObject({name: RecordedCache.from_json(item, f"{key}.{name}.") for name, item in value.items()})
    raise ValueError(f"provenance '{key}' must be {_WANTED[annotation]} or null, not {str(value)[:60]!r}")


def _frozen(value: object) -> JsonValue:
    """A JSON value (lists, dicts, scalars) as an immutable one."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("provenance: an object's keys must be strings")
        return FrozenObject({key: _frozen(item) for key, item in value.items()})
    raise ValueError(f"provenance: {type(value).__name__} is not a JSON value")


def _is_frozen(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_is_frozen(item) for item in value)
    if isinstance(value, Mapping):
        return isinstance(value, FrozenObject) and all(_is_frozen(item) for item in value.values())
    return value is None or isinstance(value, (bool, int, float, str))


def _thawed(value: object) -> object:
    """A frozen value as ``json.dumps`` takes it (lists and dicts)."""
    if isinstance(value, _Record):
        return value.to_json()
    if isinstance(value, tuple):
        return [_thawed(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _thawed(item) for key, item in value.items()}
    return value
