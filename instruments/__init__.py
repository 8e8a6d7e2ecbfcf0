"""Lowest layer: talks to devices (real or simulated) and knows nothing of the bench."""
