import gzip, json, math, os, struct, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
root, epochs, target, threads = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
arch = sys.argv[5] if len(sys.argv) > 5 else "lenet5"
torch.set_num_threads(threads); torch.manual_seed(0)
def read(prefix, kind):
    for name in (f"{prefix}-{kind}", f"{prefix}-{kind}".replace("-idx", ".idx")):
        for p in (os.path.join(root, name), os.path.join(root, name + ".gz")):
            if os.path.exists(p):
                raw = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
                if kind.startswith("images"):
                    n, r, c = struct.unpack(">III", raw[4:16])
                    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, r, c)
                return np.frombuffer(raw, np.uint8, offset=8)
    sys.exit(f"missing {prefix}-{kind} in {root}")
xtr = torch.tensor(read("train", "images-idx3-ubyte"), dtype=torch.float32) / 255
ytr = torch.tensor(read("train", "labels-idx1-ubyte"), dtype=torch.long)
xte = torch.tensor(read("t10k", "images-idx3-ubyte"), dtype=torch.float32) / 255
yte = torch.tensor(read("t10k", "labels-idx1-ubyte"), dtype=torch.long)
m, s = xtr.mean(), xtr.std()
xtr, xte = (xtr - m) / s, (xte - m) / s
model = MODELS[arch]()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
n, b = len(ytr), 128
steps = math.ceil(n / b)
clock, points = 0.0, []
for e in range(epochs):
    model.train(); t0 = time.time()
    perm = torch.randperm(n)
    for i in range(steps):
        for g in opt.param_groups:
            g["lr"] = 0.05 * 0.5 * (1 + math.cos(math.pi * (e + i / steps) / epochs))
        idx = perm[i * b:(i + 1) * b]
        opt.zero_grad(); F.cross_entropy(model(xtr[idx]), ytr[idx]).backward(); opt.step()
    clock += time.time() - t0
    model.eval()
    with torch.no_grad():
        acc = sum((model(xte[j:j + 1000]).argmax(1) == yte[j:j + 1000]).sum().item() for j in range(0, len(yte), 1000)) / len(yte)
    points.append((clock, acc))
    if acc >= target: break
print(json.dumps({"version": torch.__version__, "points": points}))
