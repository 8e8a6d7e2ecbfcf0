"""Accuracy: lab certification at MID test points and field acceptance against a reference meter.

Pure functions (limits, plans, planner, uncertainty budget, decision rules, field statistics) and a
small executor that drives a power source, a reference standard and the meters under test over
Modbus. Documented in ``docs/accuracy.md``.
"""
