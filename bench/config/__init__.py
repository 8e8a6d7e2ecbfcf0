"""The bench file: its strict reader, its model, and the lab section."""
