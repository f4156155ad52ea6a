"""Deterministic analysis of a checkout: tools as subprocesses, one finding model, scores."""
