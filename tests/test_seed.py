"""The seed tutorial's torch tables as test vectors (../shared/seed/000_29c23cbb54c532c7.txt).

Each seed example prints ``print("初始化的学习率:", optimizer_1.defaults['lr'])`` and then, for epochs 1..10,
``print("第%d个epoch的学习率:%f" % (epoch, optimizer_1.param_groups[0]['lr']))`` before
``scheduler.step()``: epoch ``e`` uses update ``k = e - 1``, so the printed LR is ``schedule(e - 1)``.

The seed text below is copied verbatim from the tutorial. The web copy lost the line breaks and the
leading "第" of each line, so the program output is compared after the same two losses (join the lines,
drop "第"): the comparison is of the exact characters the seed shows, every "%f" digit included.

The TensorFlow y=x^2 table belongs to lrkit.tf (another test module).
"""
import pytest

import lrkit
import seed_tables  # noqa: E402 (tests/ is on sys.path: tests/conftest.py)

# ---- the seed's printed output, copied verbatim ---------------------------------------------------
SEED_LAMBDA_LR = seed_tables.TORCH["LambdaLR"]
SEED_STEP_LR = seed_tables.TORCH["StepLR"]
SEED_MULTISTEP_LR = seed_tables.TORCH["MultiStepLR"]
SEED_EXPONENTIAL_LR = seed_tables.TORCH["ExponentialLR"]
# ReduceLROnPlateau(mode='min', factor=0.1, patience=2) fed the constant metric 2, epochs 1..14:
SEED_PLATEAU_LR = seed_tables.TORCH["ReduceLROnPlateau"]

INITIAL_LR = 0.1


def seed_print(initial, lrs):
    """What the seed's loop prints, one line per print() call."""
    lines = ["初始化的学习率: " + str(initial)]
    lines += ["第%d个epoch的学习率:%f" % (epoch, lr) for epoch, lr in enumerate(lrs, start=1)]
    return lines


def as_scraped(lines):
    """The same text after the web copy's losses: line breaks and the leading "第" gone."""
    return "".join(line.removeprefix("第") for line in lines)


SEED_TABLES = [
    ("LambdaLR(lr_lambda=lambda epoch: 1/(epoch+1))",
     lrkit.function(lambda epoch: 1 / (epoch + 1)) * INITIAL_LR, SEED_LAMBDA_LR),
    ("StepLR(step_size=3, gamma=0.1)", lrkit.step_decay(INITIAL_LR, period=3, gamma=0.1), SEED_STEP_LR),
    ("MultiStepLR(milestones=[3, 7], gamma=0.1)", lrkit.multistep(INITIAL_LR, milestones=[3, 7], gamma=0.1),
     SEED_MULTISTEP_LR),
    ("ExponentialLR(gamma=0.1)", lrkit.exponential(INITIAL_LR, 0.1), SEED_EXPONENTIAL_LR),
]


@pytest.mark.parametrize("name, schedule, seed_text", SEED_TABLES, ids=[t[0].split("(")[0] for t in SEED_TABLES])
def test_seed_table_from_lrkit(name, schedule, seed_text):
    lrs = [schedule(epoch - 1) for epoch in range(1, 11)]
    printed = seed_print(INITIAL_LR, lrs)
    assert as_scraped(printed) == seed_text, "\n".join(printed)


@pytest.mark.parametrize("name, schedule, seed_text", SEED_TABLES, ids=[t[0].split("(")[0] for t in SEED_TABLES])
def test_seed_table_numpy_path(name, schedule, seed_text):
    lrs = schedule(list(range(10)))
    assert as_scraped(seed_print(INITIAL_LR, lrs)) == seed_text


def test_seed_tables_are_what_torch_prints_today():
    """The seed's code run on the installed torch prints the same text: the spec is still torch's truth."""
    torch = pytest.importorskip("torch")
    from torch.optim import lr_scheduler

    makers = [
        lambda o: lr_scheduler.LambdaLR(o, lr_lambda=lambda epoch: 1 / (epoch + 1)),
        lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.1),
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, 7], gamma=0.1),
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.1),
    ]
    for make, (name, schedule, seed_text) in zip(makers, SEED_TABLES):
        net = torch.nn.Conv2d(in_channels=3, out_channels=3, kernel_size=3)
        optimizer = torch.optim.Adam(net.parameters(), lr=INITIAL_LR)
        scheduler = make(optimizer)
        lrs = []
        for _epoch in range(1, 11):
            optimizer.zero_grad()
            optimizer.step()
            lrs.append(optimizer.param_groups[0]["lr"])
            scheduler.step()
        assert as_scraped(seed_print(optimizer.defaults["lr"], lrs)) == seed_text, name
        # and lrkit agrees with torch beyond the printed digits
        for k, lr in enumerate(lrs):
            assert abs(schedule(k) - lr) <= 1e-12 * abs(lr), (name, k, schedule(k), lr)


def hand_edit_lrs(epochs=100, lr=0.1):
    """The seed's section 2.2.0 with a real optimizer: ``p['lr'] *= 0.9`` every 5 epochs, then record."""
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD(params=[torch.nn.Parameter(torch.zeros(2))], lr=lr)
    y = []
    for epoch in range(epochs):
        if epoch % 5 == 0:
            for p in optimizer.param_groups:
                p["lr"] *= 0.9
        y.append(optimizer.state_dict()["param_groups"][0]["lr"])
    return y


def test_hand_edit_is_a_step_decay():
    """Editing ``param_group['lr']`` by hand (x0.9 at epochs 0, 5, 10, ...) is a step decay whose first
    plateau is already 0.1 * 0.9: epoch 0 is edited before it is used."""
    schedule = lrkit.step_decay(0.1 * 0.9, period=5, gamma=0.9)
    y = hand_edit_lrs()
    for epoch, lr in enumerate(y):
        assert abs(schedule(epoch) - lr) <= 1e-12 * lr, (epoch, schedule(epoch), lr)
    # the numpy curve the seed plots with matplotlib
    curve = schedule(list(range(100)))
    assert max(abs(a - b) / b for a, b in zip(curve, y)) <= 1e-12
    assert y[0] == pytest.approx(0.09) and y[5] == pytest.approx(0.081) and y[99] == pytest.approx(0.1 * 0.9 ** 20)


def test_seed_plateau_table():
    """The seed's ReduceLROnPlateau(mode='min', factor=0.1, patience=2) fed test = 2 every epoch,
    through the core plateau controller (lrkit.torch's drop-in is tested in test_torch_seed.py)."""
    ctl = lrkit.plateau(mode="min", factor=0.1, patience=2)
    state, lr, lrs = ctl.init(), INITIAL_LR, []
    for epoch in range(1, 15):
        lrs.append(lr)                       # the LR this epoch trains with
        reductions = state.reductions
        state = ctl.update(state, 2)         # scheduler_1.step(test)
        if state.reductions > reductions:
            lr = ctl.reduce(lr)
    assert as_scraped(seed_print(INITIAL_LR, lrs)) == SEED_PLATEAU_LR
