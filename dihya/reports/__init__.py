"""Scheduled and on-demand operations reports (issue 17)."""
