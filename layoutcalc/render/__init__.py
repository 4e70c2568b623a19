"""Presentation: pahole-style text, JSON, CSV, markdown; DataFrames and figures (imported lazily)."""
