"""Moderation, safety and privacy: reports, hiding, muting, the audit log, crisis support."""
