"""Time units as integers of milliseconds, defined once for every layer.

Times in meterbench are epoch milliseconds (UTC) everywhere, so durations are integer
milliseconds. This module depends on nothing, so the instruments layer (which imports nothing else
of meterbench) uses it too.
"""

MS_PER_S = 1000
MS_PER_MIN = 60 * MS_PER_S
MS_PER_QUARTER = 15 * MS_PER_MIN
MS_PER_HOUR = 60 * MS_PER_MIN
MS_PER_DAY = 24 * MS_PER_HOUR
