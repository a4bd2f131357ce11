from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

def densities(
    shapes: Sequence[Sequence[int]], sparsity: float, distribution: str = ...
) -> list[float]: ...
def rigl_update(
    weight: npt.NDArray[np.floating[Any]],
    grad: npt.NDArray[np.floating[Any]],
    mask: npt.NDArray[np.bool_],
    drop_fraction: float,
) -> npt.NDArray[np.bool_]: ...
