import json, sys, time, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[1]))
secs = float(sys.argv[2])
class Block(nn.Module):
    def __init__(s, cin, c, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(c)
        s.c2 = nn.Conv2d(c, c, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(c)
        s.sc = None
        if stride != 1 or cin != c:
            s.sc = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))
    def forward(s, x):
        o = F.relu(s.b1(s.c1(x))); o = s.b2(s.c2(o))
        return F.relu(o + (x if s.sc is None else s.sc(x)))
class ResNet20(nn.Module):
    def __init__(s):
        super().__init__()
        s.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False); s.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for i, c in enumerate([16, 32, 64]):
            for b in range(3):
                blocks.append(Block(cin, c, 2 if i > 0 and b == 0 else 1)); cin = c
        s.blocks = nn.Sequential(*blocks); s.fc = nn.Linear(64, 10)
    def forward(s, x):
        x = s.blocks(F.relu(s.bn(s.stem(x))))
        return s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
def Mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10))
out = {}
for name, model, shape in [("mlp", Mlp(), (1, 28, 28)), ("lenet5", LeNet5(), (1, 28, 28)), ("resnet20", ResNet20(), (3, 32, 32))]:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(128, *shape); y = torch.arange(128) % 10
    def step():
        opt.zero_grad(); loss = F.cross_entropy(model(x), y); loss.backward(); opt.step()
    for _ in range(2): step()
    t0, n = time.time(), 0
    while n < 3 or time.time() - t0 < secs:
        step(); n += 1
    out[name] = 128 * n / (time.time() - t0)
print(json.dumps({"version": torch.__version__, **out}))
