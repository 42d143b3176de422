"""The plateau's relative threshold on negative metrics (issue 12, item 11): lrkit.plateau uses the margin
``threshold * |best|``; torch's ReduceLROnPlateau uses ``best * (1 -/+ threshold)``, whose margin points the
wrong way for a negative ``best`` (pytorch#38622, #47513). lrkit.torch.ReduceLROnPlateau keeps torch's rule
(``threshold_rule="torch"``). Compared with torch's own ReduceLROnPlateau, decision for decision."""
import math

import pytest

import lrkit

torch = pytest.importorskip("torch")

FLAT = [-1.0] * 12                                           # no improvement at all
WORSENING = [-1.0 + 1e-6 * k for k in range(12)]             # slowly worse (within torch's wrong margin)
IMPROVING = [-1.0 - 1e-2 * k for k in range(12)]             # clearly better every epoch
MIXED = [-3.0, -2.0, -3.0001, -3.0002, -5.0, -4.9999, -4.9995, -5.0, -4.0, -6.0, -6.0, -6.0]


def torch_run(metrics, mode="min", **kwargs):
    """The LRs and bests of torch's own ReduceLROnPlateau (lr 1.0) after each metric."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, **kwargs)
    out = []
    for m in metrics:
        sched.step(m)
        out.append((opt.param_groups[0]["lr"], sched.best))
    return out


def lrkit_run(ctl, metrics):
    """The LR (1.0, cut by ``ctl.reduce`` at each new reduction, as an optimizer's) and best after each metric."""
    state, lr, out = ctl.init(), 1.0, []
    for m in metrics:
        before = state.reductions
        state = ctl.update(state, m)
        if state.reductions > before:
            lr = ctl.reduce(lr)
        out.append((lr, state.best))
    return out


def close(a, b):
    return all(math.isclose(x, y, rel_tol=1e-12) and math.isclose(bx, by, rel_tol=0, abs_tol=0)
               for (x, bx), (y, by) in zip(a, b))


@pytest.mark.parametrize("metrics", [FLAT, WORSENING, MIXED], ids=["flat", "worsening", "mixed"])
def test_torch_never_reduces_on_a_flat_or_worsening_negative_metric(metrics):
    """The bug, stated on torch itself (torch 2.x, threshold_mode "rel", threshold 1e-4, patience 2): on a
    flat or slowly worsening negative metric every epoch counts as an improvement."""
    lrs = [lr for lr, _ in torch_run(metrics[:10] if metrics is not MIXED else FLAT, patience=2)]
    assert lrs == [1.0] * len(lrs)


@pytest.mark.parametrize("metrics", [FLAT, WORSENING, IMPROVING, MIXED], ids=["flat", "worsening", "improving", "mixed"])
@pytest.mark.parametrize("patience, threshold", [(2, 1e-4), (0, 1e-4), (1, 0.1)])
def test_native_plateau_on_negative_metrics_is_torchs_max_mode_on_their_negation(metrics, patience, threshold):
    """For metrics < 0, ``m < best - threshold * |best|`` is torch's mode "max" (right for positive values) on
    ``-m``: the native controller against torch's own scheduler, decision for decision."""
    ctl = lrkit.plateau(mode="min", factor=0.1, patience=patience, threshold=threshold)
    want = [(lr, -best) for lr, best in torch_run([-m for m in metrics], mode="max", factor=0.1,
                                                   patience=patience, threshold=threshold)]
    assert close(lrkit_run(ctl, metrics), want)
    flipped = lrkit.plateau(mode="max", factor=0.1, patience=patience, threshold=threshold)
    assert close(lrkit_run(flipped, [-m for m in metrics]), [(lr, -b) for lr, b in want])


def test_native_plateau_reduces_on_a_flat_negative_metric():
    state = lrkit.plateau(patience=2).init()
    for m in FLAT[:4]:
        state = lrkit.plateau(patience=2).update(state, m)
    assert state.reductions == 1 and state.best == -1.0


@pytest.mark.parametrize("metrics", [FLAT, WORSENING, IMPROVING, MIXED, [3.0, 2.0, 2.0, 1.9999, 1.0, 1.0, 1.0, 1.0]],
                         ids=["flat", "worsening", "improving", "mixed", "positive"])
@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_torch_rule_and_the_drop_in_are_torchs(metrics, mode, threshold_mode):
    """threshold_rule="torch" and lrkit.torch.ReduceLROnPlateau give torch's LRs and bests, negative
    metrics included (the drop-in's behaviour is unchanged)."""
    from lrkit.torch import ReduceLROnPlateau
    want = torch_run(metrics, mode=mode, patience=2, threshold_mode=threshold_mode)
    ctl = lrkit.plateau(mode=mode, patience=2, threshold_mode=threshold_mode, threshold_rule="torch")
    assert close(lrkit_run(ctl, metrics), want)
    if threshold_mode == "abs":  # the rules differ only in mode "rel"
        assert close(lrkit_run(lrkit.plateau(mode=mode, patience=2, threshold_mode="abs"), metrics), want)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    drop_in = ReduceLROnPlateau(opt, mode=mode, patience=2, threshold_mode=threshold_mode)
    got = []
    for m in metrics:
        drop_in.step(m)
        got.append((opt.param_groups[0]["lr"], drop_in.best))
    assert close(got, want)


@pytest.mark.parametrize("metrics", [[3.0, 2.0, 2.0, 1.9999, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_both_rules_agree_with_torch_on_positive_metrics(metrics, mode):
    want = torch_run(metrics, mode=mode, patience=1)
    assert close(lrkit_run(lrkit.plateau(mode=mode, patience=1), metrics), want)


def test_the_rule_is_saved_in_the_config():
    ctl = lrkit.plateau(patience=3, threshold_rule="torch")
    config = ctl.to_config()
    assert config["threshold_rule"] == "torch" and lrkit.plateau.from_config(config) == ctl
    assert lrkit.plateau().threshold_rule == "magnitude"
    with pytest.raises(lrkit.LrkitValueError, match="threshold_rule"):
        lrkit.plateau(threshold_rule="keras")
