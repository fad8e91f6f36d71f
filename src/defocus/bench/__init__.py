"""Evaluation tables, statistics and plots."""
