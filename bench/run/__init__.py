"""One run of a bench: devices, acquisition, analysis, the run folder."""
