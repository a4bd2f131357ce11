from typing import Any, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from . import masks as masks

__version__: str

Selection = Tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]

def select(
    name: str,
    probs: npt.NDArray[np.floating[Any]],
    features: npt.NDArray[np.floating[Any]],
    labels: npt.NDArray[np.integer[Any]],
    fraction: float,
    *,
    seed: int = ...,
    epoch: int = ...,
    total_epochs: int = ...,
    val: Optional[
        Tuple[
            npt.NDArray[np.floating[Any]],
            npt.NDArray[np.floating[Any]],
            npt.NDArray[np.integer[Any]],
        ]
    ] = ...,
    **settings: Any,
) -> Selection: ...
def omp(
    atoms: npt.NDArray[np.floating[Any]],
    target: npt.NDArray[np.floating[Any]],
    budget: int,
    *,
    lambda_: float = ...,
    tol: float = ...,
) -> Selection: ...
def gradmatch(
    gradients: npt.NDArray[np.floating[Any]],
    labels: npt.NDArray[np.integer[Any]],
    budget: int,
    *,
    lambda_: float = ...,
    tol: float = ...,
    seed: int = ...,
) -> Selection: ...
def facility_location(
    points: npt.NDArray[np.floating[Any]],
    budget: int,
    *,
    epsilon: float = ...,
    seed: int = ...,
) -> Selection: ...
def selector_names() -> list[str]: ...
