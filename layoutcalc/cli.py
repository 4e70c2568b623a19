"""The command line: click commands over :mod:`layoutcalc.api`, and the one error boundary."""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional, TypeVar

import click

from .errors import LayoutcalcError
from .render import render
from .render.lines import one_line


def _lazy_module(name: str) -> ModuleType:
    """``name``, imported on first attribute use: ``layoutcalc --help`` never loads the readers and analyses."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from . import api
else:
    api = _lazy_module("layoutcalc.api")

FORMATS_SHOW = click.Choice(["text", "json"])


class _Terminated(BaseException):
    """SIGTERM, raised as an exception so that pending safe writes remove their temporary files."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


class _Group(click.Group):
    """The one error boundary: every failure is one line ``Error: ...`` on stderr and exit status 1.

    LayoutcalcError is the user's problem and says what is wrong; anything else is our bug and says
    so (``--traceback`` shows it in full).  Click's own usage errors keep their exit status 2.
    """

    def invoke(self, ctx: click.Context) -> Any:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except LayoutcalcError as exc:
            self._fail(ctx, one_line(str(exc)), 1)
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted", 130)
        except _Terminated:
            self._fail(ctx, "terminated", 143)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(1)
        except Exception as exc:  # the boundary: an internal bug, still one line unless --traceback
            self._fail(ctx, f"internal error, please report it ({exc.__class__.__name__}: {one_line(str(exc))}); "
                            "run with --traceback for details", 1)
        finally:
            signal.signal(signal.SIGTERM, previous)

    @staticmethod
    def _fail(ctx: click.Context, message: str, status: int) -> None:
        if ctx.obj and ctx.obj.get("traceback"):
            raise
        click.echo(f"Error: {message}", err=True)
        sys.exit(status)


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan and infinities (nan passes every comparison check)."""

    name = "finite float range"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


@click.group(cls=_Group)
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
@click.version_option(package_name="layoutcalc")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """layoutcalc: what C struct layouts cost, from real kernel debug info."""
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def _default_input(value: Optional[str]) -> str:
    """The path -i names (``live``: the running kernel's BTF; none: the first bundled snapshot)."""
    from .readers.inputs import resolve
    return resolve(value).path


_F = TypeVar("_F", bound=Callable[..., Any])
_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _input_option(**kwargs: Any) -> "_Decorator":
    return click.option("-i", "--input", "input_path", metavar="INPUT",
                        help="vmlinux/.o/.ko with DWARF, a BTF blob, or a snapshot JSON "
                             "(default: the bundled amd64 snapshot).", **kwargs)


def _source_options(command: _F) -> _F:
    """``--config``/``--defconfig`` for an input that is a kernel source tree (a directory)."""
    command = click.option("--defconfig", is_flag=True,
                           help="Kernel source tree: use the tree's defconfig for --arch (the default).")(command)
    return click.option("--config", "config", metavar="FILE",
                        help="Kernel config (.config, /proc/config.gz, /boot/config-*): for a source tree, the "
                             "one to compile with; for --patch, the symbols its #if blocks test.")(command)


def _tree_config(path: str, config: Optional[str], patch_path: Optional[str]) -> Optional[str]:
    """The --config for the input: a source tree takes it; with --patch any other input leaves it to the patch."""
    from .readers.inputs import resolve
    return config if patch_path is None or resolve(path).is_source_tree else None


def _define_option() -> "_Decorator":
    return click.option("--define", "defines", multiple=True, metavar="SYMBOL=y|n|m|N",
                        help="Preprocessor symbol for a patch's #if blocks (repeatable; overrides --config).")


def _patch_option() -> "_Decorator":
    return click.option("--patch", "patch_path", metavar="FILE",
                        help="Unified diff against kernel headers: the cost of the members it adds.")


def _warn(warnings: "Sequence[str]") -> None:
    for warning in warnings:
        click.echo(f"warning: {one_line(warning)}", err=True)


def _emit(result: Any, fmt: str = "text", **options: Any) -> None:
    """A command's result: its warnings on stderr, then ``render(result, fmt)`` on stdout, as is."""
    _warn(result.warnings)
    click.echo(render(result, fmt, **options), nl=False)


def _cost_options(function: Any) -> Any:
    """--count and --alloc: how many objects of a struct or cache, and how a cacheless struct is allocated."""
    function = click.option("--alloc", "allocs", multiple=True, metavar="STRUCT=KIND",
                            help="How a struct with no cache is allocated: kmalloc, percpu, static or vmalloc "
                                 "(repeatable).")(function)
    return click.option("--count", "counts", multiple=True, metavar="STRUCT=N|@FILE",
                        help="Objects of a struct (or cache) for a --patch's counted total (repeatable; @FILE: "
                             "a workload file of 'NAME N' lines; --live reads /sys/kernel/slab/*/objects).")(function)


def _pairs(values: tuple[str, ...], option: str, kinds: Optional[tuple[str, ...]] = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values:
        if kinds is None and value.startswith("@"):  # a workload file of counts
            from .slab.patchcost import read_counts
            out.update(read_counts(value[1:]))
            continue
        name, _, what = value.partition("=")
        if not name or not what:
            raise click.UsageError(f"{option} {value}: expected NAME=VALUE")
        if kinds is None:
            if not what.isdigit():
                raise click.UsageError(f"{option} {value}: the count must be a whole number")
            out[name] = int(what)
        elif what not in kinds:
            raise click.UsageError(f"{option} {value}: the kind is one of {', '.join(kinds)}")
        else:
            out[name] = what
    return out


def _patch_options(patch_path: Optional[str], defines: tuple[str, ...], config: Optional[str],
                   counts: tuple[str, ...], allocs: tuple[str, ...]) -> dict[str, Any]:
    """The api's keyword arguments for ``--patch`` and what goes with it (none without one)."""
    if patch_path is None:
        if defines:
            raise click.UsageError("--define decides a --patch's conditions; give --patch too")
        return {}
    return {"patch": patch_path, "defines": defines, "config": config, "counts": _pairs(counts, "--count"),
            "allocations": _pairs(allocs, "--alloc", ("kmalloc", "percpu", "static", "vmalloc"))}


def _source_input(path: str, arch: Optional[str], config: Optional[str], defconfig: bool,
                  structs: tuple[str, ...] = ()) -> tuple[str, Optional[str]]:
    """(input to read, arch to retarget to): a source tree becomes its compiled snapshot for ``arch``."""
    from .readers.inputs import resolve
    if config and defconfig:
        raise click.UsageError("give --config or --defconfig, not both")
    if resolve(path).is_source_tree:
        return api.resolve_input(path, arch, config, structs), None
    return api.resolve_input(path, None, config), arch


@main.command()
@click.argument("structs", nargs=-1)
@_input_option()
@click.option("--format", "fmt", type=FORMATS_SHOW, default="text", show_default=True)
@click.option("--cacheline-size", type=click.IntRange(1), default=None,
              help="Cache line size for the boundary comments (default: the one the input records, else 64).")
@click.option("--arch", help="Target ABI: for a source tree, the one to compile for; otherwise re-lay out for it.")
@_source_options
@click.option("--at", "at_offset", metavar="OFFSET", help="The member (path), hole or padding at this byte "
                                                         "of the struct (decimal or 0x hex).")
@click.option("--contains", "contains", metavar="NAME", help="Structs and unions with a member of type NAME "
                                                           "(pahole --contains); no STRUCT argument.")
@click.option("--pointers-to", "pointers_to", metavar="NAME", help="Members that point to NAME, as "
                                                                  "'struct: member' (pahole --find_pointers_to).")
@click.option("--recursive", is_flag=True, help="With --contains/--pointers-to: the transitive set "
                                                "(containers of containers; pointers to any of them).")
@click.option("--all-units", is_flag=True, help="With --contains/--pointers-to: every compile unit, not only the "
                                                "first holding NAME (pahole's answer).")
@click.option("--btf-base", metavar="FILE", help="Base of a split BTF input (a module's .BTF or "
                                                "/sys/kernel/btf/MODULE); default /sys/kernel/btf/vmlinux.")
@click.option("-E", "--expand", is_flag=True, help="Print every member type in full, as pahole -E.")
@click.option("--hex", "hex_offsets", is_flag=True, help="Offsets and sizes in hexadecimal, as pahole --hex.")
def show(structs: tuple[str, ...], input_path: Optional[str], fmt: str, cacheline_size: Optional[int],
         arch: Optional[str], config: Optional[str], defconfig: bool, expand: bool = False,
         hex_offsets: bool = False, at_offset: Optional[str] = None, contains: Optional[str] = None,
         pointers_to: Optional[str] = None, recursive: bool = False, btf_base: Optional[str] = None,
         all_units: bool = False) -> None:
    """Show structs, unions or typedefs as pahole -C prints them (-i may be a kernel source tree)."""
    if contains is not None or pointers_to is not None:
        _show_relations(structs, input_path, contains, pointers_to, recursive, fmt, btf_base, all_units)
        return
    if not structs:
        raise click.UsageError("name at least one STRUCT (or give --contains/--pointers-to NAME)")
    structs = tuple(name for item in structs
                    for name in (api.read_names(item[len("file://"):]) if item.startswith("file://") else [item]))
    path, arch = _source_input(_default_input(input_path), arch, config, defconfig, structs)
    api.require_structs(path, structs)
    with _progress_bar(path) as progress:
        build = api.load_named(path, structs, arch=arch, progress=progress, btf_base=btf_base)
    if at_offset is not None:
        _show_at(build, structs, at_offset, fmt)
        return
    shown = api.show(build, structs, api.cacheline_size_of(build, cacheline_size), stats=fmt != "text")
    _emit(shown, fmt, **({"expand": expand, "hex_offsets": hex_offsets} if fmt == "text" else {}))


def _show_relations(structs: tuple[str, ...], input_path: Optional[str], contains: Optional[str],
                    pointers_to: Optional[str], recursive: bool, fmt: str, btf_base: Optional[str],
                    all_units: bool = False) -> None:
    """``show --contains NAME`` / ``show --pointers-to NAME``: pahole's lines, or JSON."""
    if structs or (contains is not None and pointers_to is not None):
        raise click.UsageError("--contains and --pointers-to take one NAME and no STRUCT argument")
    kind, name = ("contains", contains) if contains is not None else ("pointers-to", pointers_to)
    assert name is not None
    _emit(api.relations(_default_input(input_path), name, kind, recursive, btf_base, all_units), fmt)


def _show_at(build: Any, structs: tuple[str, ...], at_offset: str, fmt: str) -> None:
    """``show STRUCT --at OFFSET``: one answer per struct named, as text or JSON."""
    try:
        offset = int(at_offset, 0)
    except ValueError:
        raise click.BadParameter(f"{at_offset!r} is not a byte offset (decimal or 0x hex)",
                                 param_hint="--at") from None
    _emit(api.members_at(build, structs, offset), fmt)


@main.command()
@_input_option()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True)
@click.option("--min-holes", type=click.IntRange(0), default=0, help="Structs with at least N holes (pahole -H).")
@click.option("--min-bit-holes", type=click.IntRange(0), default=0,
              help="Structs with at least N bit holes (pahole -B).")
@click.option("--min-padding", type=click.IntRange(0), default=0, help="Structs with at least N bytes of tail "
                                                                      "padding.")
@click.option("--min-members", type=click.IntRange(0), default=0, help="Structs and unions with at least N "
                                                                      "direct members (pahole -n counts them).")
@click.option("--packable", is_flag=True, help="Structs that repacking makes smaller: name, size, repacked size, "
                                               "bytes saved (pahole -P).")
@click.option("--sort", "sort_key", type=click.Choice(["waste", "size", "holes"]),
              help="Largest first: waste (hole and padding bytes), size or holes.")
@click.option("--structs-from", "names_file", metavar="FILE", help="Only the structs named in FILE, one a line.")
@click.option("--btf-base", metavar="FILE", help="Base of a split BTF input (a module's .BTF or "
                                                "/sys/kernel/btf/MODULE); default /sys/kernel/btf/vmlinux.")
def sizes(input_path: Optional[str], fmt: str, min_holes: int = 0, min_bit_holes: int = 0, min_padding: int = 0,
          min_members: int = 0, packable: bool = False, sort_key: Optional[str] = None,
          names_file: Optional[str] = None, btf_base: Optional[str] = None) -> None:
    """Every struct and union with its size and number of holes, same-name definitions too, as pahole --sizes."""
    path = _default_input(input_path)
    if min_holes or min_bit_holes or min_padding or min_members or packable or sort_key or names_file or btf_base:
        _sizes_filtered(path, fmt, min_holes, min_bit_holes, min_padding, min_members, packable, sort_key,
                        names_file, btf_base)
        return
    with _progress_bar(path) as progress:
        result = api.sizes_of(path, progress, every_definition=True)
    _emit(result, fmt)


def _sizes_filtered(path: str, fmt: str, min_holes: int, min_bit_holes: int, min_padding: int, min_members: int,
                    packable: bool, sort_key: Optional[str], names_file: Optional[str],
                    btf_base: Optional[str] = None) -> None:
    """``sizes`` with hunting filters: pahole's columns in text, every figure in JSON and CSV."""
    from .analysis.query import SizeFilter
    names = frozenset(api.read_names(names_file)) if names_file else None
    chosen = SizeFilter(min_holes, min_bit_holes, min_padding, min_members, packable, names, sort_key)
    with _progress_bar(path) as progress:
        result = api.sizes_filtered(path, chosen, progress, btf_base)
    _emit(result, fmt)


@contextlib.contextmanager
def _progress_bar(path: str) -> Iterator[Optional[Callable[[int, int], None]]]:
    """A tqdm bar on stderr for reads that take over a second; none when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm
    with tqdm(desc=f"reading {os.path.basename(path)}", unit="CU", leave=False, delay=1.0) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        yield update


@main.command()
@click.argument("input_path", metavar="INPUT", required=False)
@click.option("-o", "--output", required=True, metavar="FILE.json", help="Where to write the snapshot.")
@click.option("--struct", "structs", multiple=True, metavar="NAME",
              help="Struct to include (repeatable; default: the seed's three and what the scenarios name).")
@click.option("--package", help="Source package of INPUT (or the tree), recorded as provenance.")
@click.option("--package-version", help="Version of that package (or the tree's commit).")
@click.option("--kernel-source", metavar="TREE", help="Compile the structs from this kernel source tree "
                                                      "instead of reading INPUT.")
@click.option("--arch", default="x86_64", show_default=True, help="With --kernel-source: the ABI to compile for.")
@_source_options
def snapshot(input_path: Optional[str], output: str, structs: tuple[str, ...], package: Optional[str],
             package_version: Optional[str], kernel_source: Optional[str], arch: str, config: Optional[str],
             defconfig: bool) -> None:
    """Extract the structs a report needs from INPUT (or a kernel source tree) into a compact JSON snapshot."""
    if (input_path is None) == (kernel_source is None):
        raise click.UsageError("give INPUT or --kernel-source TREE (one of them)")
    if kernel_source is not None and config and defconfig:
        raise click.UsageError("give --config or --defconfig, not both")
    provenance: dict[str, object] = {key: value for key, value in (("package", package),
                                                                   ("version", package_version)) if value}
    if kernel_source is not None:
        _emit(api.snapshot(kernel_source, output, structs, provenance=provenance, kernel_source=True, arch=arch,
                           config=config))
    else:
        assert input_path is not None
        _emit(api.snapshot(input_path, output, structs, provenance=provenance))



@main.command()
@click.argument("structs", nargs=-1)
@_input_option()
@click.option("--format", "fmt", type=FORMATS_SHOW, default="text", show_default=True)
@click.option("--cacheline-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--all", "every", is_flag=True, help="Repack every struct of the input (as pahole --reorganize "
              "over a whole file); with --format json, one entry per struct.")
def reorganize(structs: tuple[str, ...], input_path: Optional[str], fmt: str, cacheline_size: int,
               every: bool) -> None:
    """Repack structs for the smallest size, then fewest cachelines, then fewest moves (pahole -R)."""
    if bool(structs) == every:
        raise click.UsageError("name the structs to repack, or give --all (not both)")
    path = _default_input(input_path)
    if every:
        with _progress_bar(path) as progress:
            result = api.reorganize_all(path, cacheline_size, progress)
    else:
        result = api.reorganize(api.load(path, structs=structs), structs, cacheline_size)
    _emit(result, fmt)


def _plot_option(what: str) -> "_Decorator":
    """``--plot FILE.png|svg``: also draw ``what`` (the path is checked before any work is done)."""
    return click.option("--plot", "plot_path", metavar="FILE.png|svg", callback=_check_plot_path,
                        help=f"Also draw {what} into FILE (PNG or SVG, by its suffix).")


def _check_plot_path(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    if value is not None:
        from .render.plots import check_plot_path
        from .safe_write import check_target
        check_plot_path(value)
        check_target(value)
    return value


def _plots() -> Any:
    from .render import plots
    return plots


def _write_plot(path: Optional[str], draw: Any) -> None:
    """Draw the figure ``draw()`` returns into ``path`` (matplotlib is imported only here)."""
    if path is None:
        return
    from .render.plots import save_figure
    save_figure(draw(), path)
    click.echo(f"wrote {path}", err=True)


@main.command()
@click.option("-i", "--input", "inputs", multiple=True, metavar="INPUT",
              help="Build to report on (repeatable; default: every bundled snapshot).")
@click.option("--live", is_flag=True, help="Also report on the running kernel (its BTF, CPUs and xstate).")
@click.option("--scenario", default="flat", show_default=True, metavar="NAME|FILE",
              help="Bundled scenario name or a scenario file.")
@click.option("--processes", type=click.IntRange(1), default=10_000, show_default=True,
              help="How many processes the per-process cost is multiplied by.")
@click.option("--child-fraction", type=FiniteFloatRange(0, 1), default=0.1, show_default=True,
              help="Share of processes living in a child pid namespace (for the hierarchical comparison).")
@click.option("--cpus", type=click.IntRange(1), default=2, show_default=True, help="CPUs (SLUB min objects).")
@click.option("--xstate-size", type=click.IntRange(0), default=832, show_default=True,
              help="x86 XSAVE area per task (832: AVX2, 2432: AVX-512).")
@click.option("--placement", type=click.Choice(["as-patched", "best-fit", "append", "reorganize"]),
              default="as-patched", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "csv"]), default="text",
              show_default=True)
@click.option("--arch", default="x86_64", show_default=True, help="For a kernel source tree: the ABI to compile for.")
@_source_options
@_plot_option("bytes per object, fields off and on, per struct and build")
@_patch_option()
@_define_option()
@_cost_options
def report(inputs: tuple[str, ...], live: bool, scenario: str, processes: int, child_fraction: float, cpus: int,
           xstate_size: int, placement: str, fmt: str, arch: str, config: Optional[str], defconfig: bool,
           plot_path: Optional[str], patch_path: Optional[str], defines: tuple[str, ...],
           counts: tuple[str, ...] = (), allocs: tuple[str, ...] = ()) -> None:
    """The verdict on the seed's claims: what the scenario's (or --patch's) fields cost per object and process."""
    inputs = tuple(_source_input(path, arch, _tree_config(path, config, patch_path), defconfig)[0]
                   for path in inputs)
    from .features.report import ReportOptions
    options = ReportOptions(processes=processes, child_fraction=child_fraction, cpus=cpus,
                            xstate_size=xstate_size, placement=placement)
    result = api.report(inputs, scenario, options, live, **_patch_options(patch_path, defines, config, counts, allocs))
    _emit(result, fmt)
    _write_plot(plot_path, lambda: _plots().bytes_per_object_figure(result.reports))


@main.command()
@_input_option()
@click.option("--scenario", metavar="NAME|FILE", help="Bundled scenario name or scenario file (default: flat).")
@click.option("--patch", "patch_path", metavar="FILE", help="Unified diff against kernel headers.")
@_define_option()
@click.option("--placement", type=click.Choice(["as-patched", "best-fit", "append", "reorganize"]),
              default="as-patched", show_default=True)
@click.option("--arch", help="Target ABI instead of the input's (x86_64, i386, aarch64, arm, ppc64le, s390x, "
                             "riscv64).")
@click.option("--level", type=click.IntRange(0), default=0, show_default=True,
              help="pid namespace level, for scenarios with per-level arrays.")
@click.option("--full", is_flag=True, help="List every member (text format) instead of eliding unchanged runs.")
@click.option("--format", "fmt", type=FORMATS_SHOW, default="text", show_default=True)
@_source_options
@_plot_option("each changed struct's cacheline map, fields off against on,")
@click.option("--verify", is_flag=True, help="With a kernel source tree and --patch: compile the patched headers "
                                             "and compare the prediction with them, member by member.")
@click.option("--debug-flags", metavar="FLAGS", help="With --verify: compiler debug flags (default '-g -gdwarf-4').")
@click.option("--strict", is_flag=True, help="Exit 1 when there is any warning (a line of the patch not modelled, "
                                             "a struct left unchanged, bounds instead of one size).")
def whatif(input_path: Optional[str], scenario: Optional[str], patch_path: Optional[str],
           defines: tuple[str, ...], placement: str, arch: Optional[str], level: int, full: bool,
           fmt: str, config: Optional[str], defconfig: bool, plot_path: Optional[str], verify: bool,
           debug_flags: Optional[str], strict: bool = False) -> None:
    """Re-lay-out structs with a scenario's or a patch's fields added, as the compiler would."""
    if scenario and patch_path:
        raise click.UsageError("give --scenario or --patch, not both")
    if verify:
        _verify(input_path, patch_path, arch, config, defines, placement, debug_flags, fmt)
        return
    given = _default_input(input_path)
    path, arch = _source_input(given, arch, _tree_config(given, config, patch_path), defconfig)
    patch_config = config if patch_path else None
    run = api.whatif(path, scenario, patch_path, defines, placement, arch, level, patch_config)
    _emit(run, fmt, **({"full": full} if fmt == "text" else {}))
    _write_plot(plot_path, lambda: _plots().cacheline_figure(run.results))
    inexact = [i.struct_name for i in run.results if not i.result.exact]
    if strict and (run.warnings or inexact):
        raise click.ClickException(f"--strict: {len(run.warnings)} warning(s)"
                                   + (f"; not exact: {', '.join(inexact)}" if inexact else ""))


def _verify(tree: Optional[str], patch_path: Optional[str], arch: Optional[str], config: Optional[str],
            defines: tuple[str, ...], placement: str, debug_flags: Optional[str], fmt: str) -> None:
    import os

    if not tree or not os.path.isdir(tree) or not patch_path:
        raise click.UsageError("--verify needs -i KERNEL_SOURCE_TREE and --patch FILE")
    _emit(api.verify_patch(tree, patch_path, arch or "x86_64", config, defines, placement,
                           debug_flags.split() if debug_flags else None), fmt)


@main.command()
@click.option("-i", "--input", "inputs", multiple=True, metavar="INPUT",
              help="Build to predict for (repeatable; default: every bundled snapshot).")
@click.option("--live", is_flag=True, help="Predict the running kernel's caches from its BTF and compare "
                                           "with /sys/kernel/slab.")
@click.option("--cpus", type=click.IntRange(1), default=2, show_default=True)
@click.option("--allocator", type=click.Choice(["slub", "slab"]),
              help="Allocator to model (default: the build's, from its config or its era).")
@click.option("--xstate-size", type=click.IntRange(0), default=832, show_default=True,
              help="x86 XSAVE area per task for static predictions (live mode reads the machine's).")
@click.option("--scenario", default="flat", show_default=True, metavar="NAME|FILE",
              help="Scenario whose effect on each cache is shown ('none' to skip).")
@click.option("--format", "fmt", type=FORMATS_SHOW, default="text", show_default=True)
@click.option("--arch", default="x86_64", show_default=True, help="For a kernel source tree: the ABI to compile for.")
@_source_options
@_plot_option("one slab per cache and build, its objects and leftover, fields off against on,")
@_patch_option()
@_define_option()
@click.option("--all", "all_caches", is_flag=True,
              help="With --live: every cache of the running kernel, its struct and predicted geometry beside sysfs.")
@_cost_options
def slab(inputs: tuple[str, ...], live: bool, cpus: int, allocator: Optional[str], xstate_size: int, scenario: str,
         fmt: str, arch: str, config: Optional[str], defconfig: bool, plot_path: Optional[str],
         patch_path: Optional[str], defines: tuple[str, ...], all_caches: bool = False,
         counts: tuple[str, ...] = (), allocs: tuple[str, ...] = ()) -> None:
    """Slab geometry of the task_struct, signal_cache and pid caches (predicted, and live with --live)."""
    if all_caches:
        if live:
            _emit(api.slab_census(), fmt)
            return
        if not inputs:
            raise click.UsageError("--all needs --live or -i BUILD (it lists every cache of one kernel)")
        for path in inputs:
            _emit(api.slab_predictions(path, cpus, xstate_size), fmt)
        return
    inputs = tuple(_source_input(path, arch, _tree_config(path, config, patch_path), defconfig)[0]
                   for path in inputs)
    result = api.slab(inputs, live, cpus, allocator, xstate_size, None if scenario == "none" else scenario,
                      **_patch_options(patch_path, defines, config, counts, allocs))
    _emit(result, fmt)
    _write_plot(plot_path, lambda: _plots().slab_figure(result.views))


# --------------------------------------------------------------------------- diff, baseline, check, history

_SOURCE_OPTION = click.option(
    "--debug-info", "source", type=click.Choice(["auto", "btf", "dwarf"]), default="auto", show_default=True,
    help="Which debug info of an ELF input to read: its .BTF section when it has one (auto), or DWARF.")
_STRUCT_PATTERNS = click.option("--struct", "patterns", multiple=True, metavar="PATTERN",
                                help="Only structs whose name matches this shell glob (repeatable).")
EXIT_REGRESSION = 3


def _output_option(formats: tuple[str, ...]) -> Callable[[Any], Any]:
    """``--output FORMAT=FILE``, repeatable: one run writes several formats."""
    def parse(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        pairs = []
        for value in values:
            fmt, sep, path = value.partition("=")
            if not sep or fmt not in formats or not path:
                raise click.BadParameter(f"'{value}' is not FORMAT=FILE with FORMAT one of {', '.join(formats)}")
            pairs.append((fmt, path))
        return tuple(pairs)
    return click.option("--output", "outputs", multiple=True, metavar="FORMAT=FILE", callback=parse,
                        help="Also write this format to FILE (repeatable).")


def _write_outputs(outputs: tuple[tuple[str, str], ...], render_one: Callable[[str], str]) -> None:
    from .safe_write import write_text
    for fmt, path in outputs:
        write_text(path, render_one(fmt))


def _read_struct_list(path: str) -> list[str]:
    """The names or globs of a ``--structs-from`` file (one a line, ``#`` comments, blank lines skipped)."""
    from .errors import InputError
    from .safe_read import check_regular_file, read_text
    check_regular_file(path, what="struct list")
    names = [line.split("#", 1)[0].strip() for line in read_text(path, "struct list").splitlines()]
    names = [name for name in names if name]
    if not names:
        raise InputError(f"{path}: names no struct (one name or glob a line)")
    return names


@main.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@_STRUCT_PATTERNS
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@_SOURCE_OPTION
@_output_option(("text", "json", "markdown"))
def diff(old: str, new: str, patterns: tuple[str, ...], fmt: str, source: str,
         outputs: tuple[tuple[str, str], ...]) -> None:
    """Which structs grew or shrank from build OLD to build NEW, and why, member by member.

    OLD and NEW are any inputs (vmlinux, .o/.ko, BTF blob, snapshot, baseline file, kernel source tree).
    """
    with contextlib.ExitStack() as bars:
        def progress(path: str) -> Optional[Callable[[int, int], None]]:
            return bars.enter_context(_progress_bar(path))
        result = api.diff(old, new, patterns, source, progress)  # shown only for a DWARF read over a second
    _emit(result, fmt)
    _write_outputs(outputs, lambda each: render(result, each))


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write the baseline (JSON).")
@_STRUCT_PATTERNS
@_SOURCE_OPTION
def baseline(input_path: str, output: str, patterns: tuple[str, ...], source: str) -> None:
    """Record every struct's size, members and cachelines of INPUT as a baseline for 'check'."""
    with _progress_bar(input_path) as progress:
        result = api.baseline(input_path, output, patterns, source, progress)
    _emit(result)


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option("--baseline", "baseline_path", required=True, metavar="FILE",
              help="Baseline written by 'layoutcalc baseline'.")
@click.option("--budget", "budget_path", metavar="FILE.toml", help="Allowed growth per struct or glob (default: "
                                                                   "none; any growth is a regression).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "junit", "github"]),
              default="text", show_default=True)
@_SOURCE_OPTION
@_output_option(("text", "json", "markdown", "junit", "github"))
@click.option("--struct", "patterns", multiple=True, metavar="GLOB",
              help="Only check structs whose name matches this shell glob (repeatable).")
@click.option("--structs-from", "structs_from", metavar="FILE",
              help="Only check the structs named (or globbed) in FILE, one a line; '#' starts a comment.")
def check(input_path: str, baseline_path: str, budget_path: Optional[str], fmt: str, source: str,
          outputs: tuple[tuple[str, str], ...], patterns: tuple[str, ...], structs_from: Optional[str]) -> None:
    """Gate on struct growth: compare INPUT with a baseline under a budget.

    Exit status: 0 within budget, 3 regression found, 1 bad input (unreadable
    build, baseline or budget file), 2 usage error.
    """
    wanted = list(patterns) + (_read_struct_list(structs_from) if structs_from else [])
    with _progress_bar(input_path) as progress:
        result = api.check(input_path, baseline_path, budget_path, source, progress, wanted)
    _emit(result, fmt)
    _write_outputs(outputs, lambda each: render(result, each))
    if result.regressions:
        sys.exit(EXIT_REGRESSION)


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--struct", "names", multiple=True, metavar="NAME",
              help="Struct to follow (repeatable; default: task_struct, signal_struct, pid).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@_plot_option("the sizes, one panel per struct,")
@click.option("--scheduler", metavar="ADDRESS", help="Run the scans on this Dask distributed scheduler "
                                                     "(tcp://host:8786) instead of a local process pool.")
@click.option("--workers", type=click.IntRange(1), help="Local processes (default: one per CPU).")
@_SOURCE_OPTION
def history(inputs: tuple[str, ...], names: tuple[str, ...], fmt: str, plot_path: Optional[str],
            scheduler: Optional[str], workers: Optional[int], source: str) -> None:
    """Sizes of chosen structs across a series of builds (in the order given)."""
    result = api.history(inputs, names, source, scheduler, workers)
    _emit(result, fmt)

    def figure() -> Any:
        from .render.history import history_figure
        return history_figure(result.rows, result.structs)
    _write_plot(plot_path, figure)


def run() -> None:
    """The program's entry point: :func:`main`, leaving out the interpreter's last garbage collection.

    At exit CPython collects every object once more; after a whole vmlinux
    that walk over hundreds of thousands of types took 0.6 s of a 4.4 s
    ``sizes`` (measured).  Freezing them skips it; the process is ending anyway.
    """
    try:
        main()
    finally:
        import gc
        gc.freeze()
