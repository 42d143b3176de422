"""lrkit.peers.olmo (OLMo-core's schedulers by their own names) against the installed ai2-olmo-core 3.0.0
(``pip install --no-deps ai2-olmo-core``; its scheduler.py loaded by tests/olmo_scheduler.py with stand-ins
for the few olmo_core names it imports, since olmo_core's config module needs cloud-storage clients).

OLMo's ``get_lr(initial_lr, current, t_max)`` at ``current = k`` is the peer's value at step k, for k up to
``t_max`` (past it OLMo's WSD and PowerLR decay on below ``decay_min_lr``; lrkit holds it: a deliberate
difference, checked here), over seeded random configs: 1e-12 relative, or 4 ulps of the LR (OLMo's
``min + (lr - min) * k / w`` and ``lr * (k / w) ** b`` round differently from lrkit's forms).
"""
import pytest

import lrkit
from lrkit.peers import olmo as peers
from olmo_scheduler import load
from test_parity_frameworks import assert_matches, lr_value, rng_for, ulps

N = 12


@pytest.fixture(scope="module")
def olmo():
    pytest.importorskip("torch")
    return load()


def compare(olmo, name, draw, past_end=True):
    rng = rng_for(f"peer-olmo-{name}")
    for i in range(N):
        lr, kwargs, t_max = draw(rng, i)
        ours = dict(kwargs)
        ref_sched = getattr(olmo, name)(**{k: v for k, v in ours.items() if k != "t_max" or name in (
            "CosWithWarmup", "LinearWithWarmup")})
        steps = range((t_max + 200) if past_end else t_max + 1)
        ref = [ref_sched.get_lr(lr, k, t_max) for k in steps]
        peer = getattr(peers, name)(**ours, **({"t_max": t_max} if "t_max" not in ours else {}), lr=lr)
        assert_matches(peer, steps, ref, f"olmo.{name}({ours}) t_max={t_max} lr={lr}", atol=ulps(lr))


def _warmup(rng, i, t_max, positive=False):
    if i % 2:
        return {"warmup": int(rng.integers(1 if positive else 0, t_max // 2 + 1))}
    return {"warmup_fraction": float(rng.uniform(0.02 if positive else 0.0, 0.5))}


def test_wsd(olmo):
    def draw(rng, i):
        t_max, lr = int(rng.integers(20, 800)), lr_value(rng)
        decay = {"decay": int(rng.integers(1, t_max // 2)), "decay_fraction": None} if i % 3 else {"decay_fraction": float(rng.uniform(0, 0.5))}
        return lr, dict(**_warmup(rng, i, t_max, True), **decay, warmup_min_lr=lr * float(rng.uniform(0, 0.5)),
                        decay_min_lr=lr * float(rng.choice([0.0, rng.uniform(0, 0.5)]))), t_max
    compare(olmo, "WSD", draw, past_end=False)


def test_power_lr(olmo):
    def draw(rng, i):
        t_max, lr = int(rng.integers(50, 800)), lr_value(rng)
        return lr, dict(b=float(rng.uniform(-1.5, -0.1)), warmup=int(rng.integers(1, t_max // 4)),
                        decay=int(rng.integers(1, t_max // 2)), decay_fraction=None, decay_min_lr=0.0), t_max
    compare(olmo, "PowerLR", draw, past_end=False)


@pytest.mark.parametrize("name", ["CosWithWarmup", "LinearWithWarmup"])
def test_cos_and_linear_with_warmup(olmo, name):
    def draw(rng, i):
        t_max, lr = int(rng.integers(20, 800)), lr_value(rng)
        return lr, dict(**_warmup(rng, i, t_max), alpha_f=float(rng.choice([0.1, 0.0, rng.uniform(0, 0.9)])),
                        warmup_min_lr=lr * float(rng.uniform(0, 0.5)), t_max=t_max), t_max
    compare(olmo, name, draw)


def test_inv_sqrt_with_warmup(olmo):
    def draw(rng, i):
        lr = lr_value(rng)
        return lr, dict(warmup=int(rng.integers(1, 300)), alpha_f=float(rng.choice([0.1, 0.0, rng.uniform(0, 0.9)])),
                        warmup_min_lr=lr * float(rng.uniform(0, 0.5))), 600
    compare(olmo, "InvSqrtWithWarmup", draw)


def test_wsd_past_t_max_holds_where_olmo_goes_on(olmo):
    """The deliberate difference: OLMo's WSD decays on past t_max (below decay_min_lr, then below 0)."""
    sched = olmo.WSD(warmup=10, decay=20, decay_fraction=None)
    assert sched.get_lr(1.0, 110, 100) < 0.0
    assert peers.WSD(warmup=10, decay=20, decay_fraction=None, t_max=100)(110) == 0.0


@pytest.mark.parametrize("call, message", [
    ("olmo.WSD(t_max=100)", r"Either 'warmup_fraction' or 'warmup' must be specified"),
    ("olmo.WSD(warmup=0, t_max=100)", r"warmup must be > 0 here"),
    ("olmo.WSD(warmup=10, decay_fraction=1.5, t_max=100)", r"decay_fraction must be between 0 and 1"),
    ("olmo.WSD(warmup=10, decay=10, t_max=100)", r"Either 'decay_fraction' or 'decay' must be specified, not both"),
    ("olmo.PowerLR(b=0.5, warmup=10, t_max=100)", r"'b' must be negative"),
    ("olmo.CosWithWarmup(warmup=10)", r"t_max .* is needed"),
    ("olmo.LinearWithWarmup(warmup=10, t_max=100, warmup_min_lr=2.0)", r"warmup_min_lr must be < the initial lr"),
])
def test_bad_arguments_get_lrkits_error(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        lrkit.parse(call)
