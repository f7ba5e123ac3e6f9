"""Many small independent layers of one size, stored stacked and run as one batched product.

A band-split model gives every frequency band (and every source) its own LayerNorm and Linear
layer. As hundreds of ``nn.Linear`` modules they cost hundreds of tiny operations per step
in the forward pass, as many in the backward pass, and an optimizer update per tensor. Here
the layers of one size share a tensor with a leading *group* shape: group ``g`` of a
:class:`GroupedLinear` is exactly ``nn.Linear`` with weight ``weight[g]`` and bias ``bias[g]``.

Shapes: ``x (B, *groups, N, I) -> (B, *groups, N, O)``; the input's group axes may also be 1
and are then broadcast (one input through every group's layer).
"""

import math

import torch
import torch.nn.functional as F_
from torch import nn

__all__ = ["GroupedLayerNorm", "GroupedLinear"]


class GroupedLinear(nn.Module):
    """Independent ``nn.Linear(in_features, out_features)`` layers, one per group index.

    Args:
        groups: the group shape ``G`` (a tuple, e.g. ``(sources, bands)``).
        in_features: I.
        out_features: O.

    Each group is initialised as ``nn.Linear`` initialises one layer: weight and bias uniform
    in ``+-1/sqrt(I)``.

    Shape:
        ``x (B, *G, N, I) -> (B, *G, N, O)``; weight ``(*G, O, I)``, bias ``(*G, O)``.

    Example:
        >>> layer = GroupedLinear((3,), 4, 5)
        >>> x = torch.randn(2, 3, 7, 4)
        >>> y = layer(x)
        >>> y.shape, torch.allclose(y[:, 1], F_.linear(x[:, 1], layer.weight[1], layer.bias[1]), atol=1e-6)
        (torch.Size([2, 3, 7, 5]), True)
        >>> k = torch.tensor([2, 0])  # groups 2 and 0 only, in that order
        >>> torch.allclose(layer(x[:, k], select=k), y[:, k], atol=1e-6)
        True
    """

    def __init__(self, groups: tuple[int, ...], in_features: int, out_features: int):
        super().__init__()
        self.groups, self.in_features, self.out_features = tuple(groups), in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(*self.groups, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(*self.groups, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, select: torch.Tensor | None = None) -> torch.Tensor:
        """``select``: indices into the last group axis; the layers of those groups, in that order."""
        weight, bias = _select(self.weight, self.bias, select, len(self.groups) - 1)
        return torch.matmul(x, weight.transpose(-1, -2)) + bias.unsqueeze(-2)  # (B, *G, N, O)

    def extra_repr(self) -> str:
        return f"groups={self.groups}, in_features={self.in_features}, out_features={self.out_features}"


class GroupedLayerNorm(nn.Module):
    """Independent ``nn.LayerNorm(features)`` layers, one per group index: every vector is
    normalised over its last axis, then scaled and shifted by its group's ``weight[g]`` and
    ``bias[g]`` (initialised to ones and zeros, as ``nn.LayerNorm``).

    Shape:
        ``x (B, *G, N, I) -> (B, *G, N, I)``; weight and bias ``(*G, I)``.

    Example:
        >>> norm = GroupedLayerNorm((2,), 3)
        >>> with torch.no_grad():
        ...     norm.weight[1] = 2.0
        >>> x = torch.randn(4, 1, 5, 3)  # one input, broadcast through both groups
        >>> y = norm(x)
        >>> y.shape, torch.allclose(y[:, 1], 2 * F_.layer_norm(x[:, 0], (3,)), atol=1e-6)
        (torch.Size([4, 2, 5, 3]), True)
        >>> torch.allclose(norm(x, select=torch.tensor([1])), y[:, 1:], atol=1e-6)
        True
    """

    def __init__(self, groups: tuple[int, ...], features: int, eps: float = 1e-5):
        super().__init__()
        self.groups, self.features, self.eps = tuple(groups), features, eps
        self.weight = nn.Parameter(torch.ones(*self.groups, features))
        self.bias = nn.Parameter(torch.zeros(*self.groups, features))

    def forward(self, x: torch.Tensor, select: torch.Tensor | None = None) -> torch.Tensor:
        """``select``: indices into the last group axis; the layers of those groups, in that order."""
        weight, bias = _select(self.weight, self.bias, select, len(self.groups) - 1)
        x = F_.layer_norm(x, (self.features,), eps=self.eps)
        return x * weight.unsqueeze(-2) + bias.unsqueeze(-2)  # (B, *G, N, I)

    def extra_repr(self) -> str:
        return f"groups={self.groups}, features={self.features}, eps={self.eps}"


def _select(weight: torch.Tensor, bias: torch.Tensor, select: torch.Tensor | None, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` and ``bias`` with only the groups ``select`` of group axis ``axis``, in that order."""
    if select is None:
        return weight, bias
    return weight.index_select(axis, select), bias.index_select(axis, select)
