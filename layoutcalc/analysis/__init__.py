"""Analysis: pahole's statistics, layout facts, what-if re-layout, retargeting and the report's verdicts.

Pure functions over :mod:`layoutcalc.model`; nothing here reads files or prints.
"""
