"""The seed tutorial's torch examples run with lrkit.torch instead of torch.optim.lr_scheduler: the printed
tables come out character for character (../shared/seed/000_29c23cbb54c532c7.txt). The web copy lost the
line breaks and each line's leading "第": the output is compared after the same two losses. The
ReduceLROnPlateau table is in test_torch_plateau.py, the hand edit of param_group['lr'] in
test_torch_native.py and test_torch_dropins.py.
"""
import itertools

from test_torch_support import K, T, pytest, torch
import seed_tables  # noqa: E402 (tests/ is on sys.path: tests/conftest.py)

SEED = {k: v for k, v in seed_tables.TORCH.items() if k != "ReduceLROnPlateau"}

MAKERS = {
    "LambdaLR": lambda M, o: M.LambdaLR(o, lr_lambda=lambda epoch: 1 / (epoch + 1)),
    "StepLR": lambda M, o: M.StepLR(o, step_size=3, gamma=0.1),
    "MultiStepLR": lambda M, o: M.MultiStepLR(o, milestones=[3, 7], gamma=0.1),
    "ExponentialLR": lambda M, o: M.ExponentialLR(o, gamma=0.1),
    "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, T_max=20),
}


class model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_channels=3, out_channels=3, kernel_size=3)

    def forward(self, x):
        pass


def seed_run(M, name, epochs=10):
    """The seed's loop, verbatim apart from the scheduler's module."""
    initial_lr = 0.1
    net_1 = model()
    optimizer_1 = torch.optim.Adam(net_1.parameters(), lr=initial_lr)
    scheduler_1 = MAKERS[name](M, optimizer_1)
    lines = ["初始化的学习率: %s" % optimizer_1.defaults["lr"]]
    for epoch in range(1, epochs + 1):
        optimizer_1.zero_grad()
        optimizer_1.step()
        lines.append("第%d个epoch的学习率:%f" % (epoch, optimizer_1.param_groups[0]["lr"]))
        scheduler_1.step()
    return lines


def scraped(lines):
    return "".join(line.removeprefix("第") for line in lines)


@pytest.mark.parametrize("name", sorted(SEED))
def test_seed_tables(name):
    assert scraped(seed_run(K, name)) == SEED[name]
    assert seed_run(K, name) == seed_run(T, name)


def test_seed_cosine_annealing_100_epochs():
    """The seed prints 100 epochs of CosineAnnealingLR(T_max=20) without showing them ("输出结果过长不再展示"):
    lrkit prints what torch prints, every line, including the climb back up after T_max."""
    mine, theirs = seed_run(K, "CosineAnnealingLR", 100), seed_run(T, "CosineAnnealingLR", 100)
    assert mine == theirs
    assert mine[21] == "第21个epoch的学习率:0.000000" and mine[41] == "第41个epoch的学习率:0.100000"


def test_seed_param_groups():
    """Section 2.1: optimizer_3 has two param groups; a scheduler adds 'initial_lr' to each group, and
    changes param_groups[n]['lr'], never optimizer.defaults['lr'] (the seed's note)."""
    net_1, net_2 = model(), model()
    optimizers = []
    for M in (T, K):
        optimizer_3 = torch.optim.Adam([{"params": net_1.parameters()}, {"params": net_2.parameters(), "lr": 0.01}],
                                       lr=0.1)
        scheduler = M.StepLR(optimizer_3, step_size=2, gamma=0.1)
        for _ in range(5):
            optimizer_3.step()
            scheduler.step()
        optimizers.append(optimizer_3)
    for opt in optimizers:
        assert list(opt.param_groups[0].keys())[-1] == "initial_lr" and opt.defaults["lr"] == 0.1
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.01]
    for a, b in itertools.zip_longest(optimizers[0].param_groups, optimizers[1].param_groups):
        assert a.keys() == b.keys() and a["lr"] == pytest.approx(b["lr"], rel=1e-15)
