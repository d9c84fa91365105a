"""Cairn: a private place for small codependency recovery groups."""
