"""The command line: click commands over :mod:`layoutcalc.api`, and the one error boundary."""

from __future__ import annotations

import sys
from typing import Any, Optional

import click

from . import api, render
from .errors import LayoutcalcError

FORMATS_SHOW = click.Choice(["text", "json"])


class _Group(click.Group):
    """Turns LayoutcalcError into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LayoutcalcError as exc:
            if ctx.obj and ctx.obj.get("traceback"):
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
@click.version_option(package_name="layoutcalc")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """layoutcalc: what C struct layouts cost, from real kernel debug info."""
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def _default_input(value: Optional[str]) -> str:
    if value:
        return value
    snapshots = api.bundled_snapshots()
    if not snapshots:
        raise LayoutcalcError("no input given (-i) and no bundled snapshot in data/")
    return str(snapshots[0])


def _input_option(**kwargs: Any) -> Any:
    return click.option("-i", "--input", "input_path", metavar="INPUT",
                        help="vmlinux/.o/.ko with DWARF, a BTF blob, or a snapshot JSON "
                             "(default: the bundled amd64 snapshot).", **kwargs)


@main.command()
@click.argument("structs", nargs=-1, required=True)
@_input_option()
@click.option("--format", "fmt", type=FORMATS_SHOW, default="text", show_default=True)
@click.option("--cacheline-size", type=click.IntRange(1), default=64, show_default=True)
def show(structs: tuple[str, ...], input_path: Optional[str], fmt: str, cacheline_size: int) -> None:
    """Show struct layouts with pahole's statistics."""
    path = _default_input(input_path)
    build = api.load(path, structs=structs)
    shown = api.show(build, structs, cacheline_size)
    if fmt == "json":
        click.echo(render.to_json({"structs": [render.struct_dict(s, st) for s, st in shown]}), nl=False)
        return
    click.echo("\n".join(render.struct_text(s, st, cacheline_size) for s, st in shown), nl=False)


@main.command()
@_input_option()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True)
def sizes(input_path: Optional[str], fmt: str) -> None:
    """Every struct with its size and number of holes, like pahole --sizes."""
    path = _default_input(input_path)
    build = api.load(path, progress=_progress_bar(path))
    rows = api.sizes(build)
    if fmt == "json":
        click.echo(render.to_json({"structs": [{"name": n, "size": s, "holes": h} for n, s, h in rows]}),
                   nl=False)
    elif fmt == "csv":
        click.echo(render.rows_csv([{"name": n, "size": s, "holes": h} for n, s, h in rows],
                                   ["name", "size", "holes"]), nl=False)
    else:
        click.echo(render.sizes_text(rows), nl=False)


def _progress_bar(path: str) -> Any:
    """A tqdm bar over compile units on stderr, shown only on a terminal."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    bar = tqdm(desc=f"reading {path}", unit="CU", leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
    return update


@main.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", required=True, metavar="FILE.json", help="Where to write the snapshot.")
@click.option("--struct", "structs", multiple=True, metavar="NAME",
              help="Struct to include (repeatable; default: the seed's three and what the scenarios name).")
@click.option("--package", help="Source package of INPUT, recorded as provenance.")
@click.option("--package-version", help="Version of that package.")
def snapshot(input_path: str, output: str, structs: tuple[str, ...], package: Optional[str],
             package_version: Optional[str]) -> None:
    """Extract the structs a report needs from INPUT into a compact JSON snapshot."""
    provenance = {key: value for key, value in (("package", package), ("version", package_version)) if value}
    build = api.snapshot(input_path, output, structs, provenance=provenance)
    click.echo(f"wrote {output}: {len(build.structs) + len(build.unions)} structs, arch {build.arch}")
