"""Fuzz harness for layoutcalc's hostile-input promise (issue 13).

Every input kind the tool reads is mutated structure-aware (ELF headers and
section tables, DWARF units/abbreviations/forms/strings, compressed sections,
BTF headers/types/strings, snapshot JSON, scenario TOML, patch text, budget
and baseline files) and run through the commands that read it, each run in a
forked child with a 5 s and 2 GiB limit.  Outcomes are classified as ok,
clean error, traceback, hang, memory or multi-line error.

- ``tests/test_fuzz_slice.py`` runs a seeded CI-sized slice in the normal suite.
- The long run is ``python3 -m tests.fuzz.run --cases 10000 --seed 1`` (see ``run.py``).
"""
