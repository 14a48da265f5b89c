"""Benchmarks: measurements, not tests. `make bench` runs them; none fails on a slow machine."""
