"""swast: coreset selection and sparse-training mask tools from swast's Rust core.

The selectors of swast-coreset, with the same names, settings and checks as swast's
config (``coreset.selector`` and the ``[coreset]`` keys), on numpy arrays a PyTorch (or
any) training loop computes::

    import swast
    idx, w = swast.select("gradmatch", probs, features, labels, 0.1, seed=0)

- ``probs``: ``[n, K]`` softmax outputs of the current model (float32 or float64);
- ``features``: ``[n, F]`` the classifier's inputs (penultimate features);
- ``labels``: ``[n]`` integer labels in ``0..K``.

Selectors (higher score = keep): ``el2n``, ``grand`` (Paul et al., NeurIPS 2021),
``forgetting`` (Toneva et al., ICLR 2019), ``uncertainty`` (Coleman et al., ICLR 2020),
``moderate`` (Xia et al., ICLR 2023), ``ccs`` (Zheng et al., ICLR 2023), ``gradmatch`` and
``gradmatch-pb`` (Killamsetty et al., ICML 2021), ``craig`` (Mirzasoleiman et al., ICML
2020), ``glister`` (Killamsetty et al., AAAI 2021; needs ``val``), ``kcenter`` (Sener &
Savarese, ICLR 2018), ``herding`` (Welling, ICML 2009), ``random``, ``uniform``.

Lower-level pieces: :func:`omp` (GradMatch's non-negative ridge OMP on any atoms),
:func:`gradmatch` (per-class GradMatch on an explicit gradient matrix),
:func:`facility_location` (CRAIG's stochastic-greedy facility location), and
:mod:`swast.masks` (ERK / ER / uniform layer densities, one RigL drop-and-grow update).
:func:`swast.torch.probe_arrays` (needs torch) runs a model over a DataLoader and returns
the three arrays ``select`` takes.

Every call releases the GIL while it computes; a Fortran-ordered or strided array gives the
result of its C-ordered copy; bad input raises ``TypeError`` (a wrong type or dtype) or
``ValueError`` (a wrong shape, length, value or setting), naming the argument.
"""

from . import _swast
from ._swast import __version__

__all__ = [
    "select",
    "omp",
    "gradmatch",
    "facility_location",
    "selector_names",
    "masks",
    "__version__",
]


def select(name, probs, features, labels, fraction, *, seed=0, epoch=0, total_epochs=1,
           val=None, **settings):
    """Select a coreset of ``round(fraction * n)`` samples (at least 1).

    Args:
        name: a selector name (:func:`selector_names`).
        probs: ``[n, K]`` softmax probabilities of the current model.
        features: ``[n, F]`` penultimate features (the classifier's input).
        labels: ``[n]`` integer labels in ``0..K``.
        fraction: the kept share, in ``(0, 1]``.
        seed: the random stream (the one a swast run's first round draws from).
        epoch, total_epochs: where training stands (EL2N keeps low scores after
            ``el2n_switch`` of it; the other selectors ignore it).
        val: ``(probs, features, labels)`` of a validation set (GLISTER needs one).
        **settings: swast-coreset's ``[coreset]`` keys: ``per_class``, ``offset``,
            ``el2n_switch``, ``uncertainty``, ``lambda``, ``pb_batch``,
            ``gradmatch_gradient``, ``omp_tol``.

    Returns:
        ``(indices, weights)``: int64 row indices (ascending) and their float32 weights.
    """
    return _swast.select(name, probs, features, labels, fraction, seed, epoch, total_epochs,
                         None if val is None else tuple(val), **settings)


def omp(atoms, target, budget, *, lambda_=0.5, tol=0.0):
    """Orthogonal matching pursuit with non-negative ridge weights (GradMatch's solver).

    Minimises ``||target - sum_s w_s atoms[s]||^2 + lambda_ ||w||^2`` over ``w >= 0`` with at
    most ``budget`` atoms (rows of ``atoms``, ``[n, d]``), re-solving the weights exactly
    each round; ``tol > 0`` stops once ``||r|| < tol ||target||``.

    Returns ``(indices, weights)`` in the order the atoms were picked.
    """
    return _swast.omp(atoms, target, budget, lambda_, tol)


def gradmatch(gradients, labels, budget, *, lambda_=0.5, tol=0.0, seed=0):
    """GradMatch per class on gradients you computed (any layer, any model).

    Row ``i`` of ``gradients`` (``[n, d]``) is sample ``i``'s gradient, ``labels[i]`` its
    class. Each class's quota (proportional to its size) is picked by :func:`omp` matching
    the class's summed gradient; when a pursuit stops early (``tol``), the rest of its quota
    is drawn at random from ``seed``. Returns ``(indices, weights)``, indices ascending.
    """
    return _swast.gradmatch(gradients, labels, budget, lambda_, tol, seed)


def facility_location(points, budget, *, epsilon=0.01, seed=0):
    """CRAIG's facility location (Mirzasoleiman et al., ICML 2020) by stochastic greedy.

    Maximises ``sum_i max_{s in S} (C - ||x_i - x_s||)`` over ``budget`` rows of ``points``
    (``[n, d]``); the weights are the cluster sizes. Returns ``(indices, weights)`` in the
    order picked.
    """
    return _swast.facility_location(points, budget, epsilon, seed)


def selector_names():
    """The selector names :func:`select` takes."""
    return list(_swast.selector_names())


from . import masks  # noqa: E402
