"""The swast Python package against the Rust crate (bit for bit), numpy references, and
every bad input at the boundary."""

import json
import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import swast

HERE = pathlib.Path(__file__).parent
PATTERNS = np.array(
    [
        [0.5, 0.25, 0.125, 0.125],
        [0.625, 0.125, 0.125, 0.125],
        [0.375, 0.375, 0.125, 0.125],
        [0.25, 0.25, 0.25, 0.25],
        [0.75, 0.125, 0.0625, 0.0625],
        [0.875, 0.0625, 0.03125, 0.03125],
    ],
    dtype=np.float32,
)


def golden_arrays(n):
    """The arrays swast-coreset/tests/python_golden.rs builds (exact in float32)."""
    i = np.arange(n)
    rot = (i * 7 // 3) % 4
    base = PATTERNS[(i * 5) % 6]
    probs = np.stack([base[np.arange(n), (c + rot) % 4] for c in range(4)], axis=1)
    j = np.arange(6)
    features = ((i[:, None] * 31 + j[None, :] * 17) % 29).astype(np.float32) / 8 - 1.5
    labels = (i * 11) % 4
    return probs.astype(np.float32), features.astype(np.float32), labels.astype(np.int64)


def random_problem(n=600, k=5, f=16, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return p.astype(np.float32), rng.normal(size=(n, f)).astype(np.float32), rng.integers(0, k, n)


@pytest.mark.parametrize("name", swast.selector_names())
def test_every_selector_equals_the_rust_crate_bit_for_bit(name):
    want = json.loads((HERE / "golden.json").read_text())[name]
    p, f, y = golden_arrays(240)
    val = golden_arrays(40)
    idx, w = swast.select(name, p, f, y, 0.1, seed=5, epoch=3, total_epochs=10, val=val)
    assert idx.dtype == np.int64 and w.dtype == np.float32
    assert idx.tolist() == want["indices"]
    assert w.view(np.uint32).tolist() == want["weight_bits"]


@pytest.mark.parametrize("name", ["gradmatch", "craig", "el2n", "kcenter", "glister"])
def test_fortran_order_strides_and_float64_give_the_c_order_float32_result(name):
    p, f, y = random_problem()
    val = random_problem(100, seed=1)
    ref = swast.select(name, p, f, y, 0.1, seed=3, val=val)
    variants = [
        (np.asfortranarray(p), np.asfortranarray(f), y),
        # strided views: every other row of a twice-as-long array
        (np.repeat(p, 2, axis=0)[::2], np.repeat(f, 2, axis=0)[::2], np.repeat(y, 2)[::2]),
        # a transposed copy transposed back (Fortran-ordered, as torch.t().numpy() gives)
        (np.ascontiguousarray(p.T).T, np.ascontiguousarray(f.T).T, y.astype(np.int32)),
        (p.astype(np.float64), f.astype(np.float64), y.astype(np.uint8)),
    ]
    for vp, vf, vy in variants:
        got = swast.select(name, vp, vf, vy, 0.1, seed=3, val=val)
        assert got[0].tolist() == ref[0].tolist()
        assert got[1].tolist() == ref[1].tolist()


def test_bad_inputs_raise_errors_that_name_the_argument():
    p, f, y = random_problem(50)
    cases = [
        (TypeError, "`probs`", lambda: swast.select("el2n", p.astype(np.int32), f, y, 0.1)),
        (TypeError, "`features`", lambda: swast.select("el2n", p, f.tolist(), y, 0.1)),
        (TypeError, "`labels`", lambda: swast.select("el2n", p, f, y.astype(np.float32), 0.1)),
        (ValueError, "`probs` must be 2-dimensional", lambda: swast.select("el2n", p[0], f, y, 0.1)),
        (ValueError, "mismatched lengths", lambda: swast.select("el2n", p, f[:40], y, 0.1)),
        (ValueError, "`labels` label 7", lambda: swast.select("el2n", p, f, np.full(50, 7), 0.1)),
        (ValueError, "`labels` holds -1", lambda: swast.select("el2n", p, f, np.full(50, -1), 0.1)),
        (ValueError, "`fraction` must be in (0, 1]", lambda: swast.select("el2n", p, f, y, 0.0)),
        (ValueError, "`fraction` must be in (0, 1]", lambda: swast.select("el2n", p, f, y, 1.5)),
        (ValueError, "`name`", lambda: swast.select("gradmach", p, f, y, 0.1)),
        (ValueError, "did you mean `lambda`", lambda: swast.select("gradmatch", p, f, y, 0.1, lamda=1)),
        (ValueError, "coreset.offset", lambda: swast.select("el2n", p, f, y, 0.1, offset=2.0)),
        (ValueError, "coreset.uncertainty", lambda: swast.select("uncertainty", p, f, y, 0.1, uncertainty="loud")),
        (ValueError, "needs a validation split", lambda: swast.select("glister", p, f, y, 0.1)),
        (ValueError, "`budget`", lambda: swast.omp(f.astype(np.float64), f.sum(0), 0)),
        (ValueError, "`target`", lambda: swast.omp(f, f.sum(0)[:3], 2)),
        (ValueError, "`sparsity`", lambda: swast.masks.densities([(3, 4)], 1.0)),
        (ValueError, "`shapes[0]`", lambda: swast.masks.densities([(3, 4, 5)], 0.5)),
        (TypeError, "`mask`", lambda: swast.masks.rigl_update(f, f, f, 0.3)),
        (ValueError, "mismatched shapes", lambda: swast.masks.rigl_update(f, f[:3], f > 0, 0.3)),
    ]
    nan = p.copy()
    nan[3, 1] = np.nan
    cases.append((ValueError, "`probs` value 16 is NaN (not finite)", lambda: swast.select("el2n", nan, f, y, 0.1)))
    inf = f.copy()
    inf[2, 0] = np.inf
    cases.append((ValueError, "`features` value 32 is inf", lambda: swast.select("el2n", p, inf, y, 0.1)))
    cases.append((ValueError, "`atoms` holds a value that is not finite", lambda: swast.omp(inf, f.sum(0), 2)))
    cases.append((ValueError, "`probs` row 0 is not a probability", lambda: swast.select("el2n", p * 2, f, y, 0.1)))
    for exc, want, call in cases:
        with pytest.raises(exc) as e:
            call()
        assert want in str(e.value), (want, str(e.value))


def test_settings_take_the_configs_keys_and_change_the_selection():
    p, f, y = random_problem()
    a = swast.select("gradmatch", p, f, y, 0.1, seed=0)
    b = swast.select("gradmatch", p, f, y, 0.1, seed=0, **{"lambda": 5, "gradmatch_gradient": "full"})
    assert a[0].tolist() != b[0].tolist()
    c = swast.select("el2n", p, f, y, 0.1, per_class=False, offset=0.1)
    assert len(c[0]) == 60


def test_omp_weights_solve_the_ridge_problem_on_the_picked_atoms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 12))
    t = a[:8].sum(0) * 1.5
    idx, w = swast.omp(a, t, 6, lambda_=0.01)
    s = a[idx]
    # the non-negative ridge solution: here every weight is positive, so the closed form
    ref = np.linalg.solve(s @ s.T + 0.01 * np.eye(len(idx)), s @ t)
    assert (ref > 0).all()
    np.testing.assert_allclose(w, ref, rtol=2e-4, atol=2e-5)
    # the residual is far below the target's norm
    assert np.linalg.norm(t - w @ s) < 0.5 * np.linalg.norm(t)


def test_facility_location_is_exact_greedy_on_a_small_set():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 3)).astype(np.float32)
    idx, w = swast.facility_location(x, 5, epsilon=1e-9)
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    c = d.max() + 1e-6
    best = np.zeros(len(x))
    ref = []
    for _ in range(5):
        gains = [(np.maximum(best, c - d[:, j]) - best).sum() if j not in ref else -1 for j in range(len(x))]
        j = int(np.argmax(gains))
        ref.append(j)
        best = np.maximum(best, c - d[:, j])
    assert idx.tolist() == ref
    # weights: how many points each pick is the nearest of
    near = np.argmin(d[:, ref], axis=1)
    assert w.tolist() == [float((near == i).sum()) for i in range(5)]


def test_erk_densities_follow_the_formula_and_hit_the_target():
    shapes = [(64, 1, 5, 5), (128, 64, 3, 3), (256, 6272), (10, 256)]
    dens = np.array(swast.masks.densities(shapes, 0.9))
    n = np.array([np.prod(s) for s in shapes], dtype=float)
    assert abs((dens * n).sum() / n.sum() - 0.1) < 1e-3
    raw = np.array([sum(s) / np.prod(s) for s in shapes])
    free = dens < 1
    ratio = dens[free] / raw[free]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    # uniform: the first layer dense, the others at the target
    u = swast.masks.densities(shapes, 0.9, "uniform")
    assert u[0] == 1.0 and all(abs(v - 0.1) < 1e-12 for v in u[1:])


def test_rigl_update_drops_the_smallest_weights_and_grows_the_largest_gradients():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(8, 16))
    g = rng.normal(size=(8, 16))
    m = rng.random((8, 16)) < 0.3
    new = swast.masks.rigl_update(w, g, m, 0.25)
    assert new.shape == m.shape and new.dtype == np.bool_ and new.sum() == m.sum()
    k = round(0.25 * m.sum())
    act = np.flatnonzero(m.ravel())
    keep = act[np.argsort(-np.abs(w.ravel()[act]), kind="stable")][: m.sum() - k]
    out = np.zeros(m.size, bool)
    out[keep] = True
    cand = np.flatnonzero(~out)
    grow = cand[np.argsort(-np.abs(g.ravel()[cand]), kind="stable")][:k]
    out[grow] = True
    assert (new.ravel() == out).all()
    # Fortran-ordered inputs: the same mask
    f = swast.masks.rigl_update(np.asfortranarray(w), np.asfortranarray(g), np.asfortranarray(m), 0.25)
    assert (f == new).all()


def test_gradmatch_on_gradients_keeps_class_quotas_and_matches_better_than_random():
    rng = np.random.default_rng(3)
    g = rng.normal(size=(400, 20)).astype(np.float32) + 0.3
    y = rng.integers(0, 4, 400)
    idx, w = swast.gradmatch(g, y, 40)
    assert len(idx) == 40 and (w >= 0).all() and (np.diff(idx) > 0).all()
    for c in range(4):
        quota = 40 * (y == c).sum() / 400
        assert abs((y[idx] == c).sum() - quota) <= 1
    err = np.linalg.norm(w @ g[idx] - g.sum(0))
    rand = rng.choice(400, 40, replace=False)
    err_rand = np.linalg.norm(10 * g[rand].sum(0) - g.sum(0))
    assert err < err_rand


def test_threads_reuse_the_module_and_get_the_same_selection():
    p, f, y = random_problem(3000, seed=4)
    ref = swast.select("gradmatch", p, f, y, 0.1, seed=1)
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: swast.select("gradmatch", p, f, y, 0.1, seed=1), range(8)))
    for idx, w in outs:
        assert idx.tolist() == ref[0].tolist() and w.tolist() == ref[1].tolist()


def test_the_gil_is_released_while_selecting():
    p, f, y = random_problem(20000, k=10, f=64, seed=5)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.02)
    start = time.perf_counter()
    swast.select("craig", p, f, y, 0.05, seed=0)
    end = time.perf_counter()
    done.set()
    t.join()
    during = [x for x in ticks if start < x < end]
    # the counting thread ran while Rust worked (it could not if the GIL were held)
    assert end - start > 0.05, "the selection was too quick to tell"
    assert len(during) >= 5, (len(during), end - start)
