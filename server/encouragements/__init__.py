"""Encouragement: cheers and short notes between members, sent live."""
