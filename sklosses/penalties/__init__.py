"""Penalties on the weights: value, smooth part and proximal operator."""

from ._base import BasePenalty
from ._penalties import L1, L2, ElasticNet, NoPenalty, make_penalty

__all__ = ["BasePenalty", "ElasticNet", "L1", "L2", "NoPenalty", "make_penalty"]
