"""In-service sampling control of meter lots: inventory, lots, schemes, plans, selection,
evaluation and the report document. See ``docs/sampling.md``."""
