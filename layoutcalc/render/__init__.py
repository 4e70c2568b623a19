"""Presentation: pahole-style text, JSON, CSV, markdown, HTML; DataFrames and figures (imported lazily).

:func:`render` is the one way a command's result (:mod:`layoutcalc.features.results`) becomes
what the CLI prints and the notebook objects show.
"""

from __future__ import annotations

from typing import Any


def render(result: Any, fmt: str = "text", **options: Any) -> str:
    """``result`` (what an :mod:`layoutcalc.api` command returns) in ``fmt``: exactly what the CLI prints.

    ``fmt`` is one of :func:`formats` of the result (text, json, markdown, csv, html, and for
    ``check`` junit and github); any other raises FormatError naming those.  ``options`` are the
    presentation flags of a few results: ``expand``/``hex_offsets`` for ``show``'s text (pahole's
    ``-E``/``--hex``), ``full`` for ``whatif``'s text, ``cacheline_size`` for ``whatif``'s HTML.
    """
    from .results import render_result
    return render_result(result, fmt, **options)


def formats(result: Any) -> tuple[str, ...]:
    """The formats :func:`render` has for ``result``, the default (text) first."""
    from .results import formats_of
    return formats_of(result)
