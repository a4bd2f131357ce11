"""PyTorch helpers (needs ``torch``): the arrays :func:`swast.select` takes, from a model
and a DataLoader."""

import numpy as np

try:
    import torch as _torch
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError("swast.torch needs PyTorch: pip install torch") from e

__all__ = ["probe_arrays"]


def probe_arrays(model, loader, *, features="fc", device=None):
    """Runs ``model`` (in eval mode, without gradients) over ``loader`` and returns
    ``(probs, features, labels)`` as numpy arrays for :func:`swast.select`.

    Args:
        model: a ``torch.nn.Module`` returning logits.
        loader: a DataLoader yielding ``(inputs, labels)`` (in the order of the dataset the
            selected indices refer to: do not shuffle it).
        features: the name of the classifier submodule (``"fc"`` in torchvision's ResNets);
            its *input* is taken as the features, through a forward pre-hook.
        device: where to run (default: the model's device).

    Returns:
        ``probs`` ``[n, K]`` float32 softmax, ``features`` ``[n, F]`` float32, ``labels``
        ``[n]`` int64.
    """
    head = dict(model.named_modules()).get(features)
    if head is None:
        raise ValueError(f"`features`: the model has no submodule named {features!r}")
    device = device or next(model.parameters()).device
    grabbed = []
    hook = head.register_forward_pre_hook(lambda _m, inp: grabbed.append(inp[0].detach()))
    was_training = model.training
    model.eval()
    probs, feats, labels = [], [], []
    try:
        with _torch.no_grad():
            for x, y in loader:
                grabbed.clear()
                z = model(x.to(device))
                probs.append(_torch.softmax(z.float(), dim=1).cpu().numpy())
                feats.append(grabbed[0].flatten(1).float().cpu().numpy())
                labels.append(y.cpu().numpy().astype(np.int64))
    finally:
        hook.remove()
        model.train(was_training)
    return np.concatenate(probs), np.concatenate(feats), np.concatenate(labels)
