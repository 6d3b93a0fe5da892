"""Classification losses (filled in by the classification-loss work)."""

__all__ = []
