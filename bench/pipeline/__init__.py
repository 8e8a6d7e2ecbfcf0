"""The pipeline: pure functions on numpy arrays from register readings to settlement values.

No I/O here. Times are int64 epoch ms UTC, energies float64 kWh, quality uint8
:class:`bench.quality.Quality`. See ``docs/pipeline.md`` for the rules and the public API.
"""
