from typing import Any, Iterable, Optional, Tuple

import numpy as np
import numpy.typing as npt

def probe_arrays(
    model: Any, loader: Iterable[Any], *, features: str = ..., device: Optional[Any] = ...
) -> Tuple[
    npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]
]: ...
