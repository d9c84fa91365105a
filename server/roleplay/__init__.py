"""Boundary role-play rooms: a moderated practice round, live."""
