"""Monitoring I/O: Prometheus queries, PNG graphs, Alertmanager silences."""
