"""Sparse-training mask tools: layer densities (uniform, ER, ERK; Evci et al., ICML 2020)
and one RigL drop-and-grow update, on numpy arrays."""

from . import _swast

__all__ = ["densities", "rigl_update"]


def densities(shapes, sparsity, distribution="erk"):
    """Per-layer densities whose parameter-weighted mean is ``1 - sparsity``.

    Args:
        shapes: the weight shapes, in forward order, as PyTorch stores them: linear
            ``(out, in)``, conv ``(out, in, kh, kw)``.
        sparsity: the overall share of zero weights, in ``[0, 1)``.
        distribution: ``"erk"`` (Erdős–Rényi-Kernel, RigL's default), ``"er"`` or
            ``"uniform"`` (every layer at the target, the first one dense).

    Returns:
        a list of densities (kept shares) in ``(0, 1]``, one per shape; a layer whose ERK
        density would exceed 1 is dense and the others are rescaled.
    """
    return list(_swast.densities([list(s) for s in shapes], sparsity, distribution))


def rigl_update(weight, grad, mask, drop_fraction):
    """One RigL update of one layer (Evci et al., ICML 2020).

    Drops the ``round(drop_fraction * kept)`` kept weights of smallest magnitude, then
    grows as many positions (the just-dropped ones included) of largest gradient magnitude;
    the kept count does not change.

    Args:
        weight, grad: float arrays of the layer's shape (the dense gradient).
        mask: a bool array of the same shape, ``True`` = kept.
        drop_fraction: in ``[0, 1]`` (RigL's alpha, cosine-decayed by the caller).

    Returns:
        the new bool mask, of the layer's shape.
    """
    return _swast.rigl_update(weight, grad, mask, drop_fraction)
