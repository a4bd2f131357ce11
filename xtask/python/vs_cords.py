import importlib.util, json, math, os, sys, time
import numpy as np, torch
import cords, apricot
from scipy.optimize import nnls
d, budget = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
raw = open(os.path.join(d, "probe.bin"), "rb").read()
n, K, F = (int(v) for v in np.frombuffer(raw[:24], "<u8"))
off = 24
labels = np.frombuffer(raw, "<u2", n, off); off += 2 * n
probs = np.frombuffer(raw, "<f4", n * K, off).reshape(n, K); off += 4 * n * K
feats = np.frombuffer(raw, "<f4", n * F, off).reshape(n, F)
spec = importlib.util.spec_from_file_location("omp", os.path.join(os.path.dirname(cords.__file__), "selectionstrategies/helpers/omp_solvers.py"))
omp = importlib.util.module_from_spec(spec); spec.loader.exec_module(omp)
def ours(name):
    return {int(l.split()[0]) for l in open(os.path.join(d, name))}
def match_err(G, b, S):
    if len(S) == 0: return float(np.linalg.norm(b))
    return float(nnls(G[S].T.astype(np.float64), b.astype(np.float64), maxiter=50 * len(S))[1])
out = {"n": n, "K": K, "F": F, "budget": budget}
# GradMatch
sw = ours("gradmatch.txt")
sw_tol = ours("gradmatch-tol.txt")
fill_rng = np.random.default_rng(0)
err_cf, size_cf, err_t, size_t = 0.0, 0, 0.0, 0
t_cords, err_c, err_o, norm_b, size_c, size_o = 0.0, 0.0, 0.0, 0.0, 0, 0
t_full, err_f, size_f = 0.0, 0.0, 0
t_v1, err_v, size_v = 0.0, 0.0, 0
for c in range(K):
    rows = np.where(labels == c)[0]
    e = probs[rows, c] - 1.0
    G = (e[:, None] * np.hstack([np.ones((len(rows), 1), np.float32), feats[rows]])).astype(np.float32)
    b = G.sum(0)
    q = math.ceil(budget * len(rows) / n)
    t0 = time.perf_counter()
    x = omp.OrthogonalMP_REG(G.T, b, nnz=q, positive=True, lam=0)
    t_cords += time.perf_counter() - t0
    Sc = list(np.nonzero(x)[0])
    # the set GradMatchStrategy makes of it: the quota filled up at random
    rest = np.setdiff1d(np.arange(len(rows)), Sc)
    Scf = Sc + list(fill_rng.choice(rest, max(q - len(Sc), 0), replace=False))
    size_cf += len(Scf); err_cf += match_err(G, b, Scf)
    St = [i for i, r in enumerate(rows) if int(r) in sw_tol]
    size_t += len(St); err_t += match_err(G, b, St)
    # the same solver without its early stop (tol = 0): as many atoms as swast picks
    t0 = time.perf_counter()
    try:
        xf = omp.OrthogonalMP_REG(G.T, b, tol=0.0, nnz=q, positive=True, lam=0)
        Sf = list(np.nonzero(xf)[0])
    except FloatingPointError:  # CORDS sets np.seterr(all="raise")
        Sf = None
    t_full += time.perf_counter() - t0
    # CORDS' torch solver with its CIFAR configs' settings (lam = 0.5, eps = 1e-100): what
    # GradMatch runs on a GPU, here on the CPU
    t0 = time.perf_counter()
    xv = omp.OrthogonalMP_REG_Parallel_V1(torch.from_numpy(G.T.copy()), torch.from_numpy(b.copy()), nnz=q, positive=True, lam=0.5, tol=1e-100, device="cpu")
    t_v1 += time.perf_counter() - t0
    Sv = list(np.nonzero(xv.numpy())[0])
    size_v += len(Sv); err_v += match_err(G, b, Sv)
    So = [i for i, r in enumerate(rows) if int(r) in sw]
    size_c += len(Sc); size_o += len(So)
    err_c += match_err(G, b, Sc); err_o += match_err(G, b, So); norm_b += float(np.linalg.norm(b.astype(np.float64)))
    if Sf is None or size_f is None:
        size_f = None
    else:
        size_f += len(Sf); err_f += match_err(G, b, Sf)
out["gradmatch"] = {"cords_seconds": t_cords, "cords_size": size_c, "ours_size": size_o,
                    "cords_error": err_c / norm_b, "ours_error": err_o / norm_b,
                    "full_seconds": t_full, "full_size": size_f,
                    "full_error": (err_f / norm_b) if size_f is not None else None,
                    "v1_seconds": t_v1, "v1_size": size_v, "v1_error": err_v / norm_b,
                    "cords_filled_size": size_cf, "cords_filled_error": err_cf / norm_b,
                    "tol_size": size_t, "tol_error": err_t / norm_b}
# CRAIG
sc = ours("craig.txt")
t_cords = 0.0
fsq_c = fsq_o = fl2_c = fl2_o = 0.0
size_c = size_o = 0
for c in range(K):
    rows = np.where(labels == c)[0]
    g = probs[rows].copy(); g[:, c] -= 1.0
    q = math.ceil(budget * len(rows) / n)
    t0 = time.perf_counter()
    gt = torch.from_numpy(g)
    d2 = (torch.cdist(gt, gt) ** 2).numpy()
    sim = d2.max() - d2
    fl = apricot.functions.facilityLocation.FacilityLocationSelection(random_state=0, metric="precomputed", n_samples=q, optimizer="lazy")
    fl.fit(sim)
    t_cords += time.perf_counter() - t0
    Sc = list(fl.ranking)
    So = [i for i, r in enumerate(rows) if int(r) in sc]
    size_c += len(Sc); size_o += len(So)
    dd = np.sqrt(np.maximum(d2, 0)); siml2 = dd.max() - dd
    fsq_c += float(sim[:, Sc].max(1).sum()); fsq_o += float(sim[:, So].max(1).sum())
    fl2_c += float(siml2[:, Sc].max(1).sum()); fl2_o += float(siml2[:, So].max(1).sum())
out["craig"] = {"cords_seconds": t_cords, "cords_size": size_c, "ours_size": size_o,
                "cords_f_sq": fsq_c, "ours_f_sq": fsq_o, "cords_f_l2": fl2_c, "ours_f_l2": fl2_o}
out["versions"] = {"cords": "0.0.4", "apricot": apricot.__version__, "numpy": np.__version__, "torch": torch.__version__}
print(json.dumps(out))
