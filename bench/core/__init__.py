"""The vocabulary every layer of the bench shares: errors, time, quality, records, GS1 ids."""
