"""Regression losses (filled in by the regression-loss work)."""

__all__ = []
