"""Abundance tables: reading, lineages, storage and diversity."""
