"""Make the README gallery: one picture per schedule family, each drawn by ``lrkit plot``.

    .venv/bin/python scripts/gallery.py            # writes docs/gallery/*.png
    .venv/bin/python scripts/gallery.py --out DIR  # somewhere else

Each entry below is exactly the ``lrkit plot`` command line that draws it (printed as it runs), so
the pictures never drift from the code: re-run this after changing a schedule.
"""
import argparse
import os
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: (file name, title, [spec, ...], extra lrkit plot arguments)
GALLERY = [
    ("linear_polynomial", "linear and polynomial decay",
     ["linear(0.1, 0.0, steps=1000)", "polynomial(0.1, 0.0, steps=1000, power=2.0)",
      "polynomial(0.1, 0.0, steps=1000, power=0.5)", "polynomial(0.1, 0.01, steps=250, cycle=True)"], []),
    ("exponential", "exponential family (log scale)",
     ["exponential(0.1, 0.7, steps=100)", "exponential(0.1, 0.7, steps=100, staircase=True)",
      "natural_exp(0.1, 0.5, steps=100)", "inverse_time(0.1, 0.5, steps=10)"], ["--steps", "1000", "--log"]),
    ("cosine", "cosine-like decays",
     ["cosine(0.1, 0.0, steps=1000)", "cosine(0.1, 0.01, steps=1000, exponent=2.0)",
      "one_minus_sqrt(0.1, 0.0, steps=1000)", "linear_cosine(0.1, steps=1000, periods=2.0)"], []),
    ("inverse_sqrt", "inverse square root (Noam: warmup then 1/sqrt)",
     ["inverse_sqrt(0.1, steps=100)", "warmup(inverse_sqrt(0.1, steps=400), steps=400)"], ["--steps", "5000"]),
    ("piecewise", "piecewise: constant pieces, lines through points, StepLR, MultiStepLR",
     ["piecewise_constant([300, 600], [0.1, 0.05, 0.01])",
      "piecewise_linear([(0, 0.0), (100, 0.1), (500, 0.1), (1000, 0.02)])",
      "step_decay(0.08, period=250, gamma=0.5)", "multistep(0.06, milestones=[400, 800], gamma=0.3)"],
     ["--steps", "1000"]),
    ("restarts", "warm restarts (SGDR); cosine_wave: torch CosineAnnealingLR",
     ["cosine_restarts(0.1, 0.0, period=200)", "cosine_restarts(0.1, 0.001, period=100, period_mult=2.0)",
      "cosine_restarts(0.1, 0.0, period=100, period_mult=2.0, peak_mult=0.5)",
      "cosine_wave(0.05, 0.01, steps=300)"], ["--steps", "1500"]),
    ("cyclic", "cyclical learning rates",
     ["cyclic(0.01, 0.1, steps_up=100)", "cyclic(0.01, 0.1, steps_up=100, mode='triangular2')",
      "cyclic(0.01, 0.1, steps_up=50, steps_down=150, mode='exp_range', gamma=0.999)"], ["--steps", "800"]),
    ("one_cycle", "one-cycle policy (torch OneCycleLR)",
     ["one_cycle(0.1, steps=1000)", "one_cycle(0.1, steps=1000, anneal='linear')",
      "one_cycle(0.1, steps=1000, three_phase=True)"], []),
    ("wsd", "warmup-stable-decay cooldowns, and linear_to_zero",
     ["wsd(0.1, steps=1000, warmup=100, decay=300)", "wsd(0.1, steps=1000, warmup=100, decay=300, shape='linear')",
      "wsd(0.1, steps=1000, warmup=100, decay=300, shape='cosine')",
      "wsd(0.1, steps=1000, warmup=100, decay=300, shape='exponential', end=0.001)",
      "linear_to_zero(0.1, steps=1000)"], []),
    ("warmup", "warmup shapes in front of a cosine",
     ["warmup(cosine(0.1, 0.0, steps=800), steps=200)",
      "warmup(cosine(0.1, 0.0, steps=800), steps=200, shape='cosine')",
      "warmup(cosine(0.1, 0.0, steps=800), steps=200, start=0.001, shape='exponential')"], []),
    ("combinators", "combinators: sequence, repeat, clip, * and +",
     ["sequence([constant(0.1), exponential(0.1, 0.99)], boundaries=[300])",
      "repeat(linear(0.08, 0.02, steps=250), period=250)",
      "clip(cosine(0.1, 0.0, steps=1000), floor=0.03)",
      "cosine(0.1, 0.0, steps=1000) * 0.5 + 0.01"], ["--steps", "1000"]),
    ("peer_decays", "the peers' decays: tanh (timm), REX, 1-square, Megatron's exponential, inverse power",
     ["tanh(0.1, 0.0, steps=1000)", "rex(0.1, 0.0, steps=1000)", "one_minus_power(0.1, 0.0, steps=1000)",
      "shifted_exponential(0.1, 0.0, steps=1000)", "inverse_power(0.1, steps=50, power=0.5)"], ["--steps", "1000"]),
    ("peer_clocks", "clocks: timm restarts (decay above a floor, limit), k-decay, epochs, shift, noise, stairs",
     ["restarts(cosine(1.0, 0.0, steps=200), period=200, period_mult=1.5, peak=0.1, end=0.01, decay=0.6, limit=4)",
      "k_decay(cosine(0.08, 0.0, steps=1000), k=3.0, steps=1000)",
      "per_epoch(cosine(0.05, 0.0, steps=10), updates=100)",
      "warmup(shift(cosine(0.06, 0.0, steps=1000), steps=100), steps=100, peak=0.06, shape='log')",
      "noise(linear(0.04, 0.0, steps=1000), pct=0.3, begin=200, stop=800)",
      "stairs(linear(0.02, 0.09, steps=700), steps=700, count=5)"], ["--steps", "1400"]),
    ("function", "user functions: torch LambdaLR (function(f) * base_lr), MultiplicativeLR, and a constant",
     ['function("lrkit._seed:_inverse_epoch") * 0.1', 'multiplicative("lrkit._seed:_factor_095", start=0.1)',
      "constant(0.05)"], ["--steps", "50"]),
    ("plans", "plans that change: rejoin, extend, a forked cooldown, rewarm",
     ["rejoin(cosine(0.1, 0.0, steps=600), after=cosine(0.1, 0.0, steps=1000), at=300)",
      "extend(wsd(0.1, steps=600, warmup=50, decay=150), steps=1000, at=300, how='hold')",
      "cooldown(wsd(0.1, steps=1000, warmup=50, decay=200), at=400, steps=150)",
      "rewarm(cosine(0.1, 0.01, steps=500), at=500, peak=0.08, warmup=50, steps=500, end=0.01)"], ["--steps", "1000"]),
    ("clocks", "clocks: a cosine in samples under a batch ramp, the LR scaled with the batch, Seesaw",
     ["clocked(cosine(0.1, 0.0, steps=64000), unit='samples', batch=batch_ramp(32, 128, increment=32, over=20000))",
      "batch_scaled(constant(0.05), batch=batch_ramp(32, 128, increment=32, over=20000), base=128)",
      "clocked((cosine(0.1, 0.0, steps=64000) * piecewise_constant([32000, 42667, 49278], [1.0, 1.4142135623730951, 2.0, "
      "2.8284271247461903])), unit='samples', batch=batch_sizes([32, 64, 128, 256], boundaries=[32000, 42667, 49278], "
      "unit='samples'))"], ["--steps", "1500"]),
]


def commands(out):
    """The ``lrkit plot`` argument lists, one per picture."""
    return [["plot", *specs, *extra, "--title", title, "-o", os.path.join(out, f"{name}.png")]
            for name, title, specs, extra in GALLERY]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "gallery"), help="folder (default docs/gallery)")
    args = parser.parse_args(argv)
    out = os.path.relpath(args.out) if os.path.abspath(args.out).startswith(os.getcwd()) else args.out
    from lrkit.cli import main as lrkit
    os.makedirs(out, exist_ok=True)
    for argv in commands(out):
        print("lrkit " + " ".join(shlex.quote(a) for a in argv), flush=True)
        code = lrkit(argv)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
