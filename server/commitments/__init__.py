"""Daily commitments in the three steps, check-ins, and a member's progress."""
