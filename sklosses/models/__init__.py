"""Models: map X to raw predictions with a flat parameter vector."""

from ._base import BaseModel
from ._linear import LinearModel
from ._mlp import MLP

__all__ = ["BaseModel", "LinearModel", "MLP"]
