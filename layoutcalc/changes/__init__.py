"""Changes to layouts: C declarations, header patches and scenario files turned into fields to add."""
