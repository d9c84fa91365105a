"""Load and latency harnesses for Cairn's sockets; each prints figures (see docs/performance.md)."""
