"""A small simulated bench for the acquisition CLI tests (scaled clock, 1-minute polls)."""

BENCH = """
[bench]
name = "acq-test"
seed = 7
simulate = true

[run]
date = "2026-06-01"
poll_period = "1min"
clock = "scaled"
scale = 600            # 10 polls per wall second per 1-minute meter

[[load]]
id = "house"
kind = "base"
mean_w = 450
peak_w = 2500
phases = "L1"

[[load]]
id = "ev"
kind = "sessions"
power_w = 11000
sessions = [["00:10", "03:00"]]

[[meter]]
id = "main"
role = "main"
model = "eastron_sdm630"
class = "B"
loads = ["house", "ev"]

[[meter]]
id = "ev"
role = "operator"
model = "eastron_sdm630"
class = "B"
loads = ["ev"]
poll_period = "30s"

[[meter]]
id = "ev_ref"
role = "reference"
reference_for = "ev"
model = "eastron_sdm630"
class = "C"
loads = ["ev"]
"""

PERIODS_MS = {"main": 60_000, "ev": 30_000, "ev_ref": 60_000}
