"""Accounts: sign up, sign in and out, sessions, profile."""
