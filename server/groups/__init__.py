"""Groups: small private peer groups, joined by invitation after agreeing to the pledge."""
