"""Verdict records from a run: conformance, netting, field acceptance, ground truth."""
