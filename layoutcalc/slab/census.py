"""Every cache of the running kernel: its struct (from the catalogue) and predicted geometry beside sysfs.

:func:`live_census` reads each cache name under ``/sys/kernel/slab`` (a
directory, or a symlink when SLUB merged it into a ``:A-0000192``-style
cache), finds the call that creates it in the catalogue of the kernel's
series, sizes the struct from the running kernel's BTF, and predicts
``object_size``, ``slab_size``, ``objs_per_slab`` and ``order`` with the SLUB
model.  Caches it cannot attribute say why (not in the catalogue, sized by a
variable, struct not in the BTF).  Merged caches are predicted with the
machine's other mergeable caches as candidates, so their prediction uses what
the others hold (as the kernel's own ``find_mergeable`` does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional, Union

from ..abi import get_abi
from ..model import Build
from .caches import CacheSpec
from .catalogue import Catalogue, series_for, shipped
from .common import SlabGeometry
from .era import recorded_release
from .live import SYSFS_SLAB, LiveMachine, merge_candidates, read_live_btf, read_machine
from .slub import create_unique_id, slub_geometry
from .specs import Unsized, is_per_level, kmalloc_class_of, kmalloc_spec, spec_for_entry

FIELDS = ("object_size", "slab_size", "objs_per_slab", "order")


@dataclass(frozen=True)
class Measured:
    """What ``/sys/kernel/slab/<name>/`` says."""

    object_size: int
    slab_size: int
    objs_per_slab: int
    order: int
    align: int
    objects: int
    merged_into: Optional[str]
    ctor: bool
    reclaim_account: bool
    hwcache_align: bool

    def as_dict(self) -> dict[str, Any]:
        return {"object_size": self.object_size, "slab_size": self.slab_size, "objs_per_slab": self.objs_per_slab,
                "order": self.order, "align": self.align, "objects": self.objects,
                "merged_into": self.merged_into, "ctor": self.ctor, "reclaim_account": self.reclaim_account,
                "hwcache_align": self.hwcache_align}


@dataclass(frozen=True)
class CensusRow:
    """One cache: its struct, the prediction (None with ``reason`` when not made) and the measurement."""

    name: str
    struct: Optional[str]
    kind: str  # "struct", "kmalloc" or "unknown"
    spec: Optional[CacheSpec]
    predicted: Optional[SlabGeometry]
    measured: Measured
    reason: str = ""
    own: Optional[SlabGeometry] = None  # predicted without the machine's merge candidates

    @property
    def exact_alone(self) -> Optional[bool]:
        """The prediction made without sysfs: slab_size, objs_per_slab and order equal, and object_size
        equal (or, for a cache merged with larger ones, at most sysfs's, which is the largest)."""
        if self.own is None:
            return None
        g, m = self.own, self.measured
        shared = self.predicted is not None and self.predicted.merged_into is not None
        return (g.slab_size, g.objs_per_slab, g.order) == (m.slab_size, m.objs_per_slab, m.order) and (
            g.object_size == m.object_size or (shared and g.object_size <= m.object_size))

    @property
    def exact(self) -> Optional[bool]:
        if self.predicted is None:
            return None
        return all(getattr(self.predicted, key) == getattr(self.measured, key) for key in FIELDS)

    def mismatches(self) -> list[str]:
        if self.predicted is None:
            return []
        return [f"{key} {getattr(self.predicted, key)} != {getattr(self.measured, key)}" for key in FIELDS
                if getattr(self.predicted, key) != getattr(self.measured, key)]

    @property
    def predicted_sysfs_id(self) -> Optional[str]:
        """The sysfs directory the name should resolve to: a merge target, its own ``:id`` or itself."""
        if self.predicted is None or self.spec is None:
            return None
        if self.predicted.merged_into is not None:
            return self.predicted.merged_into.unique_id
        spec = self.spec
        if spec.ctor or spec.usercopy or spec.typesafe_by_rcu or spec.poison or spec.no_merge:
            return self.name
        return create_unique_id(self.predicted.slab_size, spec.account, spec.reclaim_account, spec.dma)

    @property
    def merge_right(self) -> Optional[bool]:
        predicted = self.predicted_sysfs_id
        return None if predicted is None else predicted == (self.measured.merged_into or self.name)

    def as_dict(self) -> dict[str, Any]:
        predicted = None
        if self.predicted is not None:
            predicted = {key: getattr(self.predicted, key) for key in FIELDS}
            predicted["align"] = self.predicted.align
            predicted["sysfs_id"] = self.predicted_sysfs_id
        return {"name": self.name, "struct": self.struct, "kind": self.kind, "predicted": predicted,
                "measured": self.measured.as_dict(), "exact": self.exact, "mismatches": self.mismatches(),
                "reason": self.reason, "how": self.spec.note if self.spec else ""}


@dataclass(frozen=True)
class Census:
    """Every cache of the running kernel."""

    release: str
    series: str
    machine: LiveMachine
    rows: list[CensusRow]

    @property
    def attributed(self) -> list[CensusRow]:
        return [row for row in self.rows if row.kind == "struct" and row.predicted is not None]

    def summary(self) -> dict[str, Any]:
        attributed = self.attributed
        exact = [row for row in attributed if row.exact]
        return {"caches": len(self.rows), "attributed": len(attributed), "exact": len(exact),
                "merge_right": sum(1 for row in attributed if row.merge_right),
                "exact_without_candidates": sum(1 for row in attributed if row.exact_alone),
                "merged_with_others": sum(1 for row in attributed
                                          if row.predicted is not None and row.predicted.merged_into is not None),
                "exact_fraction": round(len(exact) / len(attributed), 4) if attributed else None,
                "kmalloc": sum(1 for row in self.rows if row.kind == "kmalloc"),
                "not_attributed": len(self.rows) - len(attributed)
                - sum(1 for row in self.rows if row.kind == "kmalloc")}

    def as_dict(self) -> dict[str, Any]:
        return {"release": self.release, "catalogue": self.series, "cpus": self.machine.nr_cpus,
                "summary": self.summary(), "caches": [row.as_dict() for row in self.rows]}


def _read_int(path: str) -> int:
    with open(path, encoding="ascii") as stream:
        return int(stream.read().split()[0])


def read_measured(root: str, name: str) -> Measured:
    """One cache's sysfs figures (a symlink's are those of the cache it was merged into)."""
    path = os.path.join(root, name)
    merged = os.path.basename(os.readlink(path)) if os.path.islink(path) else None

    def flag(attr: str) -> bool:
        try:
            with open(os.path.join(path, attr), encoding="ascii") as stream:
                text = stream.read().strip()
        except OSError:
            return False
        return bool(text) and text != "0"
    return Measured(_read_int(os.path.join(path, "object_size")), _read_int(os.path.join(path, "slab_size")),
                    _read_int(os.path.join(path, "objs_per_slab")), _read_int(os.path.join(path, "order")),
                    _read_int(os.path.join(path, "align")), _read_int(os.path.join(path, "objects")), merged,
                    flag("ctor"), flag("reclaim_account"), flag("hwcache_align"))


def cache_names(root: str = SYSFS_SLAB) -> list[str]:
    """Cache names under sysfs (``:``-prefixed merge targets left out)."""
    return sorted(entry for entry in os.listdir(root) if not entry.startswith(":"))


def live_census(build: Optional[Build] = None, catalogue: Optional[Catalogue] = None,
                root: str = SYSFS_SLAB) -> Census:
    """Every cache of the running kernel, attributed and predicted (see the module docstring)."""
    if build is None:
        build = read_live_btf(None)
    release = build.provenance.release or os.uname().release
    if catalogue is None:
        catalogue = shipped(series_for(recorded_release(build)))
    abi = get_abi(build.arch)
    machine = read_machine(build)
    boot = machine.boot
    candidates = merge_candidates(root)
    rows = []
    for name in cache_names(root):
        measured = read_measured(root, name)
        entry, number = catalogue.lookup_name(name)
        size_class = kmalloc_class_of(name, catalogue.kmalloc)
        spec: Union[CacheSpec, Unsized, None] = None
        kind, struct, reason = "unknown", None, ""
        if entry is not None:
            level = number - 1 if is_per_level(entry) and number > 0 else 0
            spec = spec_for_entry(entry, build, abi, machine.cache_line, machine.xstate_size, level=level)
            kind = "struct"
        elif size_class is not None:
            spec, kind = kmalloc_spec(name, size_class, abi.pointer_size), "kmalloc"
        elif name in catalogue.by_name:
            reason = "created by calls of different sizes in the catalogue"
        else:
            reason = f"not created by name in the Linux {catalogue.series} catalogue (a module, a newer " \
                     "kernel's cache, or a name built at run time)"
        if isinstance(spec, Unsized):
            struct, reason, spec = spec.struct, spec.reason, None
        predicted = own = None
        if spec is not None and spec.object_size <= 0:
            struct, reason, spec = spec.struct_name or None, f"object size {spec.object_size} in the BTF", None
        if spec is not None:
            struct = spec.struct_name or None
            predicted = slub_geometry(spec, machine.nr_cpus, abi.page_size, machine.cache_line, candidates,
                                      min_objects=boot.min_objects, max_order=boot.max_order,
                                      min_order=boot.min_order, slab_nomerge=boot.nomerge)
            own = slub_geometry(spec, machine.nr_cpus, abi.page_size, machine.cache_line, None,
                                min_objects=boot.min_objects, max_order=boot.max_order, min_order=boot.min_order)
            if kind == "struct" and struct is None:
                kind = "unknown"
        rows.append(CensusRow(name, struct, kind, spec, predicted, measured, reason, own))
    return Census(str(release), catalogue.series, machine, rows)


@dataclass(frozen=True)
class Predicted:
    """One cache of a build's catalogue, predicted without a running kernel (merging not predicted)."""

    name: str
    struct: Optional[str]
    spec: Optional[CacheSpec]
    geometry: Optional[SlabGeometry]
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        predicted = None
        if self.geometry is not None:
            predicted = {key: getattr(self.geometry, key) for key in FIELDS}
            predicted.update(align=self.geometry.align, bytes_per_object=round(self.geometry.bytes_per_object, 2))
        return {"name": self.name, "struct": self.struct, "predicted": predicted, "reason": self.reason,
                "how": self.spec.note if self.spec else ""}


def static_census(build: Build, cpus: int = 2, xstate_size: Optional[int] = 832,
                  catalogue: Optional[Catalogue] = None) -> list[Predicted]:
    """Every cache of the build's catalogue whose struct the build has, predicted under its era."""
    from .catalogue import catalogue_for_era
    from .caches import memcg_accounting
    from .era import decide_era
    from .geometry import era_geometry
    abi = get_abi(build.arch)
    era = decide_era(build, abi)
    catalogue = catalogue or catalogue_for_era(build, era)
    out = []
    for name in sorted(catalogue.by_name):
        entry = catalogue.lookup(name)
        if entry is None or "%" in name:
            continue
        spec = spec_for_entry(entry, build, abi, era.cache_line, xstate_size,
                              not era.is_2622 and memcg_accounting(build))
        if isinstance(spec, Unsized):
            if spec.struct is not None and "not in the build" not in spec.reason:
                out.append(Predicted(name, spec.struct, None, None, spec.reason))
            continue
        if spec.object_size <= 0:
            out.append(Predicted(name, spec.struct_name, None, None, f"object size {spec.object_size}"))
            continue
        out.append(Predicted(name, spec.struct_name or None, spec, era_geometry(spec, era, cpus)))
    return out
