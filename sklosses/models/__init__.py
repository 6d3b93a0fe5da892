"""Models: map X to raw predictions with a flat parameter vector."""

from ._base import BaseModel
from ._linear import LinearModel

__all__ = ["BaseModel", "LinearModel"]
