"""Renders a finished run folder to HTML, CSV and plots. Imports nothing from ``bench``."""
