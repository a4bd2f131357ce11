import torch.nn as nn, torch.nn.functional as F
class LeNet5(nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(1, 6, 5, padding=2); s.c2 = nn.Conv2d(6, 16, 5)
        s.f1 = nn.Linear(400, 120); s.f2 = nn.Linear(120, 84); s.f3 = nn.Linear(84, 10)
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.c1(x)), 2); x = F.max_pool2d(F.relu(s.c2(x)), 2)
        x = x.flatten(1); return s.f3(F.relu(s.f2(F.relu(s.f1(x)))))
class Mlp(nn.Module):
    """swast's MLP 784-1024-512-10 (ReLU), the cpu scale's model."""
    def __init__(s):
        super().__init__()
        s.h1 = nn.Linear(784, 1024); s.h2 = nn.Linear(1024, 512); s.fc = nn.Linear(512, 10)
    def forward(s, x):
        return s.fc(F.relu(s.h2(F.relu(s.h1(x.flatten(1))))))
MODELS = {"lenet5": LeNet5, "mlp": Mlp}
