"""Byte-level damage to real builds' sections, and special files and resource bombs where a path is read."""

from __future__ import annotations

import gzip
import os
import random
import socket
import subprocess
from pathlib import Path
from typing import NamedTuple, Optional

from elftools.elf.elffile import ELFFile

ROOT = Path(__file__).resolve().parent.parent.parent
SEED_SOURCE = ROOT / "tests" / "fuzz" / "seed.c"
REAL_BUILDS = Path.home() / ".cache" / "layoutcalc" / "vmlinux"
# Debian builds that carry .BTF, if the cache holds them (never downloaded from here: tests/realbuilds.py does that)
REAL_BTF_BUILDS = ("vmlinux-6.1.0-47-cloud-amd64", "vmlinux-6.1.0-50-cloud-arm64", "vmlinux-6.12.118+deb12-cloud-amd64")
DEBUG_SECTIONS = (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line", ".debug_str_offsets",
                  ".debug_rnglists", ".BTF", ".note.gnu.build-id", ".symtab")


class Seeds(NamedTuple):
    """What the campaign damages and reads: compiled seeds, real BTF, and a snapshot/baseline to compare with."""

    obj: Path          # seed.c, gcc -gdwarf-4 object
    linked: Path       # seed.c linked (build-id): what the fast scan reads
    snapshot: Path
    baseline: Path
    real_btf: list[Path]
    bomb_elf: Optional[Path]  # a compressed .debug_str that expands to 600 MiB
    gzip_bomb: Path           # a gzip config of 1 MiB that expands to 1 GiB


def section_ranges(data: bytes) -> dict[str, tuple[int, int]]:
    import io
    elf = ELFFile(io.BytesIO(data))
    return {s.name: (s["sh_offset"], s["sh_size"]) for s in elf.iter_sections()
            if s.name in DEBUG_SECTIONS and s["sh_type"] != "SHT_NOBITS"}


def build_seeds(work: Path) -> Seeds:
    """Compile the seeds and extract real builds' .BTF into ``work`` (once per campaign)."""
    from layoutcalc import api
    work.mkdir(parents=True, exist_ok=True)
    source = work / "seed.c"
    source.write_text(SEED_SOURCE.read_text().replace('"../fixtures/flat_pid.h"',
                                                      f'"{ROOT}/tests/fixtures/flat_pid.h"'))
    obj, linked = work / "seed.o", work / "seed.so"
    subprocess.run(["gcc", "-gdwarf-4", "-O0", "-c", str(source), "-o", str(obj)], check=True)
    subprocess.run(["gcc", "-gdwarf-5", "-O0", "-shared", "-fPIC", "-nostdlib", "-Wl,--build-id=sha1",
                    str(source), "-o", str(linked)], check=True)
    snapshot, baseline = work / "seed.json", work / "seed.baseline.json"
    api.snapshot(str(obj), str(snapshot), ("task_struct", "signal_struct", "pid", "upid", "fpu", "thread_struct",
                                          "hlist_node"))
    api.baseline(str(obj), str(baseline))
    real = []
    for name in REAL_BTF_BUILDS:
        if (REAL_BUILDS / name).is_file():
            with open(REAL_BUILDS / name, "rb") as stream:
                section = ELFFile(stream).get_section_by_name(".BTF")
                if section is not None:
                    (work / f"{name}.btf").write_bytes(section.data())
                    real.append(work / f"{name}.btf")
    return Seeds(obj, linked, snapshot, baseline, real, _bomb_elf(work, obj), gzip_bomb(work / "config.gz"))


def _bomb_elf(work: Path, obj: Path) -> Optional[Path]:
    """The seed object whose .debug_str is replaced by 600 MiB of zeros, stored zlib-compressed (about 600 KB)."""
    zeros, bomb = work / "zeros", work / "bomb.o"
    with open(zeros, "wb") as stream:
        stream.truncate(600 << 20)
    try:
        subprocess.run(["objcopy", "--update-section", f".debug_str={zeros}", "--compress-debug-sections=zlib",
                        str(obj), str(bomb)], check=True, capture_output=True, timeout=300)
    except (subprocess.SubprocessError, OSError):
        return None
    finally:
        zeros.unlink()
    return bomb


def damage_bytes(data: bytes, rng: random.Random, ranges: Optional[dict[str, tuple[int, int]]] = None) -> bytes:
    """``data`` with one kind of byte damage, inside one section when ``ranges`` names them."""
    out = bytearray(data)
    start, size = 0, len(out)
    if ranges:
        start, size = ranges[rng.choice(sorted(ranges))]
        if start + size > len(out):  # an earlier truncation cut this section
            start, size = 0, len(out)
    if size == 0:
        return bytes(out)
    how = rng.choice(["flip"] * 6 + ["run", "zero", "ff", "swap", "int", "int", "truncate"])
    at = start + rng.randrange(size)
    if how == "flip":
        for _ in range(rng.randint(1, 4)):
            out[start + rng.randrange(size)] ^= 1 << rng.randrange(8)
    elif how == "run":
        length = min(rng.randint(1, 16), len(out) - at)
        out[at:at + length] = bytes(rng.randrange(256) for _ in range(length))
    elif how == "zero":
        end = min(len(out), at + rng.randint(1, 64))
        out[at:end] = bytes(end - at)
    elif how == "ff":
        end = min(len(out), at + rng.randint(1, 64))
        out[at:end] = b"\xff" * (end - at)
    elif how == "truncate":
        del out[at:]
    elif how == "swap":
        other = start + rng.randrange(size)
        length = min(rng.randint(1, 64), len(out) - max(at, other))
        out[at:at + length], out[other:other + length] = out[other:other + length], out[at:at + length]
    else:  # a plausible-looking integer: 0, -1, 2^31, 2^32-1
        value = rng.choice([0, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 1, 0xFFFF])
        out[at:at + 4] = value.to_bytes(4, "little")
    return bytes(out)


SPECIALS = ("fifo", "dev-zero", "dev-zero-link", "directory", "socket", "sparse-3g", "empty", "dangling",
            "proc-self-mem", "dev-urandom-link")


def special_file(kind: str, path: Path) -> str:
    """Make ``path`` the special file ``kind``; the name to give layoutcalc."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        return "/dev/zero"
    elif kind == "dev-zero-link":
        path.symlink_to("/dev/zero")
    elif kind == "dev-urandom-link":
        path.symlink_to("/dev/urandom")
    elif kind == "directory":
        path.mkdir()
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    elif kind == "sparse-3g":
        with open(path, "wb") as stream:
            stream.write(b"{")
            stream.truncate(3 << 30)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "dangling":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "proc-self-mem":
        return "/proc/self/mem"
    return str(path)


def gzip_bomb(path: Path, megabytes: int = 1024) -> Path:
    """A gzip config whose first line is real and whose rest is ``megabytes`` MiB of zeros (3 MiB on disk)."""
    with gzip.open(path, "wb", compresslevel=9) as stream:
        stream.write(b"CONFIG_PID_NS_FLAT=y\n")
        block = b"\0" * (1 << 20)
        for _ in range(megabytes):
            stream.write(block)
    return path


def json_bomb(path: Path, depth: int) -> str:
    path.write_text('{"schema":"layoutcalc-snapshot","version":1,"x":' + "[" * depth + "]" * depth + "}")
    return str(path)
