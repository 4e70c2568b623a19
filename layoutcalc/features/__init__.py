"""Features built on the layers below: the report, diff, budget/check and history commands' engines."""
