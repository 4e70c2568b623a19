"""The second fuzz harness (issue 23), written apart from ``tests/fuzz/`` and from another angle.

``tests/fuzz/`` mutates seed inputs structure by structure.  This one
*generates* inputs from grammars (C struct declarations compiled by gcc and
clang, unified diffs with ``#if`` conditions, configs, TOML and snapshot
values) with Hypothesis strategies, damages the sections of real Debian
builds byte by byte, offers special files and resource bombs wherever a path
is read, and checks every exit-0 output against layout properties
(:mod:`.properties`).  Run it with ``python3 -m tests.fuzz2.run``.
"""
