"""Predict a schedule's loss before training it: the Multi-Power Law and the LR-annealing law, fitted on
two runs of lrkit's built-in tasks, against the runs themselves.

    python bench/predict.py                       # both tasks, 3 seeds: trains what docs/ lacks (LM: ~1 h of CPU)
    python bench/predict.py --task mnist --quick  # a reduced MNIST check (a minute)
    python bench/predict.py --reuse               # no training: only the runs saved in docs/

The procedure, fixed before any held-out run was looked at:

1. Runs. Each task trains the shoot-out's standard schedules (``lrkit.standard_schedules``: constant,
   step, exponential, cosine, one_cycle, warmup_cosine, wsd, linear_to_zero; one peak, one budget)
   for seeds 0..S-1 (a seed fixes the initial weights and the batches, the same for every schedule).
   Every update's training loss is recorded. Each run holds the shared CPU lock
   (``flock -s /tmp/lrkit-cpu.lock``) and sleeps 5 s after, so that exclusive benchmarks get the machine.
2. Fit. For each seed, each law is fitted on that seed's ``constant`` and ``cosine`` runs only (the MPL
   paper's fitting set) with ``lrkit.predict.fit``'s defaults (100 windows per run, the first 20% of
   each run left out, Huber 1e-3 on log-loss; the LR-annealing law's decay picked among 0.9 to 0.999
   on the same two runs). Those defaults were set on the LM task's fitting runs alone (their in-sample
   final-loss error), before any held-out prediction was computed.
3. Predict. For each other standard schedule: its final training loss, predicted and actual (the same
   seed's run). LM task: the exact loss on the whole training split after the last update (the task
   records it), predicted as the law's loss after the last update. MNIST task: the mean batch loss
   over the last 5% of updates, predicted as the law's mean over the same updates. The error is
   ``predicted / actual - 1``; the table gives its mean and std over seeds, and the mean |error|.
4. Optimise. Each law is fitted on the seed-averaged constant and cosine runs; ``lrkit.predict.optimize``
   returns the schedule of lowest predicted final loss in the WSD family (decay length, shape, final
   LR) and in the free-form monotone family (the MPL paper's; 5% warmup, same peak). The MPL's two and
   the LR-annealing law's WSD (added after the MPL's had lost on the LM task; the LR-annealing law's
   free-form optimum drops to 0 before the end, its known flaw, and is not trained) are trained on the
   same seeds and compared, seed by seed, with the best standard schedule (lowest mean final training
   loss) with the shoot-out's paired statistics (t-interval over seeds, "within noise" when it holds 0),
   on the final training loss and on the task's own metric.
5. Outputs: ``docs/predict_<task>_runs.json`` (every run, a shoot-out JSON), ``docs/predict.json`` (the
   numbers below) and ``docs/predict.png``.

Goals: final-loss prediction error <= 1% on the LM task; the optimised schedule at least as good as the
best standard one, within noise. Missing a goal is reported (``NOT MET``), the exit status stays 0.
"""
import argparse
import fcntl
import json
import math
import multiprocessing
import os
import platform
import sys
import time
import warnings

try:
    import lrkit  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))

import numpy as np  # noqa: E402

import lrkit  # noqa: E402
from lrkit import _shootout as so  # noqa: E402
from lrkit import predict  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.normpath(os.path.join(HERE, os.pardir, "docs"))
OUT = DOCS
LOCK = "/tmp/lrkit-cpu.lock"
FIT_ON = ("constant", "cosine")
FINAL = 0.05           # the final training loss: mean over the last 5% of updates
LAWS = ("mpl", "lra")


# ---------------------------------------------------------------------------------------------
# tasks and runs
# ---------------------------------------------------------------------------------------------
def make_task(name, quick):
    if name == "lm":
        from lrkit.torch import _lm_task as lm
        task = lm.LmTask(steps=300 if quick else lm.STEPS, evals=5 if quick else 10)
        return task, lm.PEAK, lm.METRIC, "min"
    from lrkit.torch import _shootout_task as mnist
    task = mnist.MnistTask(epochs=3 if quick else mnist.EPOCHS, train_size=1000 if quick else None)
    return task, mnist.PEAK, mnist.METRIC, "max"


def _train_one(job):
    """One run in a worker process, under the shared CPU lock; (label, seed, Run as a dict)."""
    task_name, quick, label, spec, seed = job
    task, _, _, _ = make_task(task_name, quick)
    schedule = lrkit.parse(spec)
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            record = so.Recorder()
            began = time.perf_counter()
            final = task(schedule, seed, task.steps, record)
            seconds = time.perf_counter() - began
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    time.sleep(5)
    return label, seed, {"final": final, "evals": record.evals, "losses": record.losses, "seconds": seconds}


def train_missing(result, path, jobs, task_name, quick):
    """Train every (schedule, seed) of ``result`` that has no run yet, saving ``result`` after each."""
    done = {(r.schedule, r.seed) for r in result.runs}
    todo = [(task_name, quick, label, spec, seed) for seed in result.seeds for label, spec in result.schedules.items()
            if (label, seed) not in done]
    if not todo:
        return
    print(f"  training {len(todo)} run(s) with {jobs} worker(s)...", flush=True)
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs) as pool:
        for label, seed, run in pool.imap_unordered(_train_one, todo):
            result.runs.append(so.Run(label, seed, float(run["final"]), [tuple(e) for e in run["evals"]],
                                      [tuple(v) for v in run["losses"]], run["seconds"]))
            result.runs.sort(key=lambda r: (r.seed, list(result.schedules).index(r.schedule)))
            result.save(path)
            print(f"    {label} seed {seed}: {run['seconds']:.0f} s, {result.metric} {run['final']:.4g}", flush=True)


def final_window(steps):
    """The updates whose batch losses make the final training loss of a task without an exact one."""
    return np.arange(steps - max(1, int(round(FINAL * steps))), steps)


def final_loss(run, steps):
    """The exact training loss after the last update if the task records it (the LM task: step ``steps``),
    else the mean batch loss over the last FINAL of the updates (the MNIST task)."""
    if run.losses and run.losses[-1][0] == steps:
        return float(run.losses[-1][1])
    first = final_window(steps)[0]
    return float(np.mean([v for s, v in run.losses if first <= s < steps]))


def predicted_final(law, schedule, steps, exact):
    """The law's counterpart of :func:`final_loss`: the loss after ``steps`` updates, or its mean over the window."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", predict.ExtrapolationWarning)
        if exact:
            return float(law.final_loss(schedule, steps))
        return float(law.predict(schedule, steps, at=final_window(steps)).loss.mean())


def run_of(result, label, seed):
    return next(r for r in result.runs if r.schedule == label and r.seed == seed)


# ---------------------------------------------------------------------------------------------
# the procedure
# ---------------------------------------------------------------------------------------------
def prepare(task_name, quick, seeds, jobs, reuse):
    """The task's shoot-out result with the standard schedules' runs (trained unless ``reuse``)."""
    task, peak, metric, mode = make_task(task_name, quick)
    path = os.path.join(OUT, f"predict_{task_name}_runs.json")
    if os.path.exists(path):
        result = so.ShootoutResult.load(path)
    else:
        schedules = {k: repr(v) for k, v in so.standard_schedules(peak, task.steps).items()}
        result = so.ShootoutResult(schedules=schedules, runs=[], steps=task.steps, seeds=tuple(range(seeds)), peak=peak,
                                   metric=metric, mode=mode, baseline="constant", task=task.describe())
    if not reuse:
        # the fitting runs first (the optimised schedules need them), then the rest
        first = so.ShootoutResult(**{**result.__dict__, "schedules": {k: result.schedules[k] for k in FIT_ON},
                                     "runs": [r for r in result.runs if r.schedule in FIT_ON]})
        train_missing(first, path + ".part", jobs, task_name, quick)
        result.runs = first.runs + [r for r in result.runs if r.schedule not in FIT_ON]
        result.save(path)
    return result, path


def predictions(result):
    """Per held-out schedule and law: predicted and actual final losses per seed."""
    steps = result.steps
    exact = all(r.losses and r.losses[-1][0] == steps for r in result.runs)
    held = [label for label in so.STANDARD if label in result.schedules and label not in FIT_ON]
    rows = {label: {"actual": [], **{law: [] for law in LAWS}} for label in held}
    fits = {law: [] for law in LAWS}
    for seed in result.seeds:
        if not all(any(r.schedule == label and r.seed == seed for r in result.runs) for label in FIT_ON + tuple(held)):
            continue
        runs = predict.from_shootout(result, labels=FIT_ON, seeds=[seed])
        for name in LAWS:
            law = predict.fit(runs, name)
            fits[name].append(law)
            for label in held:
                rows[label][name].append(predicted_final(law, lrkit.parse(result.schedules[label]), steps, exact))
        for label in held:
            rows[label]["actual"].append(final_loss(run_of(result, label, seed), steps))
    return rows, fits


def stats(errors):
    e = np.asarray(errors, dtype=np.float64)
    return {"mean": float(e.mean()), "std": float(e.std(ddof=1)) if e.size > 1 else math.nan,
            "abs": float(np.abs(e).mean()), "n": int(e.size)}


def optimised(result):
    """The laws fitted on the seed-averaged fitting runs, and each one's optimised schedules."""
    runs = predict.from_shootout(result, labels=FIT_ON)
    out = {}
    for name in LAWS:
        law = predict.fit(runs, name)
        out[name] = {"law": law, **{family: predict.optimize(law, family, steps=result.steps, peak=result.peak)
                                    for family in ("wsd", "free")}}
    return out


OPTIMISED = {"mpl_wsd": ("mpl", "wsd"), "mpl_free": ("mpl", "free"), "lra_wsd": ("lra", "wsd")}


def add_optimised(result, opt):
    """Add the optimised schedules that are trained to ``result`` (dropping saved runs of an older spec)."""
    for label, (law, family) in OPTIMISED.items():
        spec = repr(opt[law][family].schedule)
        if result.schedules.get(label) not in (None, spec):
            print(f"  {label}: the spec changed, its saved runs are dropped")
            result.runs = [r for r in result.runs if r.schedule != label]
        result.schedules[label] = spec


def compare(result, label, best):
    """Paired comparison of ``label`` with ``best`` on the final training loss and on the task's metric."""
    seeds = [s for s in result.seeds if any(r.schedule == label and r.seed == s for r in result.runs)]
    if not seeds:
        return None
    mine = [final_loss(run_of(result, label, s), result.steps) for s in seeds]
    theirs = [final_loss(run_of(result, best, s), result.steps) for s in seeds]
    loss = so.paired(mine, theirs, mode="min")
    metric = so.paired([run_of(result, label, s).final for s in seeds], [run_of(result, best, s).final for s in seeds],
                       mode=result.mode)
    return {"seeds": seeds, "loss": loss, "metric": metric, "loss_mean": float(np.mean(mine)),
            "metric_mean": float(np.mean([run_of(result, label, s).final for s in seeds]))}


def analyse(task_name, result, opt):
    rows, fits = predictions(result)
    out = {"exact": all(r.losses and r.losses[-1][0] == result.steps for r in result.runs), "task": task_name, "title": result.task.get("title"), "steps": result.steps, "peak": result.peak,
           "seeds": list(result.seeds), "fit": {}, "rows": {}, "overall": {}, "optimised": {}}
    for name in LAWS:
        out["fit"][name] = {"rms": [law.error["rms"] for law in fits[name]],
                            "params": [law.params for law in fits[name]]}
        errors = []
        for label, row in rows.items():
            e = np.asarray(row[name]) / np.asarray(row["actual"]) - 1.0
            errors.append(e)
            out["rows"].setdefault(label, {"actual": stats(row["actual"])})[name] = {
                "predicted": stats(row[name]), "error": stats(e)}
        out["overall"][name] = stats(np.concatenate(errors)) if errors else None
    finals = {label: np.mean([final_loss(r, result.steps) for r in result.runs if r.schedule == label])
              for label in so.STANDARD if label in result.schedules}
    best = min(finals, key=finals.get)
    out["best_standard"] = {"label": best, "loss": float(finals[best])}
    for label, (name, family) in OPTIMISED.items():
        o = opt[name][family]
        out["optimised"][label] = {"spec": repr(o.schedule), "predicted": o.predicted, "start": o.start_predicted,
                                   "comparison": _jsonable(compare(result, label, best))}
    for name in LAWS:
        for family in ("wsd", "free"):
            o = opt[name][family]
            out["optimised"].setdefault(f"{name}_{family}", {"spec": repr(o.schedule), "predicted": o.predicted,
                                                             "start": o.start_predicted, "comparison": None})
    return out


def _jsonable(value):
    if value is None:
        return None
    out = {}
    for k, v in value.items():
        out[k] = {f: getattr(v, f) for f in v.__dataclass_fields__} if hasattr(v, "__dataclass_fields__") else v
    return out


def pct(x):
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:+.2f}%"


def report(out):
    print(f"\n== {out['task']}: {out['title']}")
    final = ("the loss on the whole training split after the last update" if out["exact"] else
             f"the mean batch loss over the last {FINAL:.0%} of the updates")
    print(f"   fit on {', '.join(FIT_ON)} per seed ({len(out['seeds'])} seeds), {out['steps']:,} updates per run; "
          f"final training loss = {final}")
    for name in LAWS:
        rms = out["fit"][name]["rms"]
        print(f"   {predict.Law.__name__} {name}: fit error (RMS, relative) {100 * min(rms):.2f}-{100 * max(rms):.2f}% over seeds")
    print("\n| schedule | actual final loss | MPL predicted | MPL error (mean ± std) | LRA predicted | LRA error (mean ± std) |")
    print("|---|---|---|---|---|---|")
    for label, row in out["rows"].items():
        a = row["actual"]
        cells = [f"`{label}`", f"{a['mean']:.4f} ± {a['std']:.4f}"]
        for name in LAWS:
            p, e = row[name]["predicted"], row[name]["error"]
            cells += [f"{p['mean']:.4f}", f"{pct(e['mean'])} ± {100 * e['std']:.2f}"]
        print("| " + " | ".join(cells) + " |")
    for name in LAWS:
        o = out["overall"][name]
        goal = "" if out["task"] != "lm" else ("   goal <= 1%: " + ("met" if o["abs"] <= 0.01 else "NOT MET"))
        print(f"   {name}: mean |error| {100 * o['abs']:.2f}% over {o['n']} predictions, mean error {pct(o['mean'])}{goal}")
    best = out["best_standard"]
    print(f"\n   best standard schedule (lowest mean final training loss): {best['label']} {best['loss']:.4f}")
    for label, o in out["optimised"].items():
        line = f"   {label}: predicted {o['predicted']:.4f} (family start {o['start']:.4f})"
        c = o["comparison"]
        if c:
            loss, metric = c["loss"], c["metric"]
            line += (f"; trained: final loss {c['loss_mean']:.4f}, vs {best['label']} {loss['mean']:+.4f} "
                     f"[{loss['low']:+.4f}, {loss['high']:+.4f}] {loss['verdict']}, wins {loss['wins']}/{loss['n']}; "
                     f"metric {c['metric_mean']:.4g}, {metric['mean']:+.4g} [{metric['low']:+.4g}, {metric['high']:+.4g}] "
                     f"{metric['verdict']}")
            ok = loss["verdict"] in ("better", "within noise")
            line += "   goal (at least as good within noise): " + ("met" if ok else "NOT MET")
        print(line)
        print(f"      {o['spec'][:200]}{'...' if len(o['spec']) > 200 else ''}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=("lm", "mnist", "both"), default="both")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--jobs", type=int, default=2, help="training processes (default 2)")
    parser.add_argument("--quick", action="store_true", help="reduced runs (LM 300 updates, MNIST 3 epochs on 1000 digits)")
    parser.add_argument("--reuse", action="store_true", help="no training: the runs saved in docs/ only")
    parser.add_argument("--out", metavar="DIR", help="where runs, numbers and figure go (default docs/; "
                        "with --quick: ./lrkit-predict-quick/)")
    parser.add_argument("--no-figure", action="store_true")
    args = parser.parse_args(argv)
    global OUT
    OUT = args.out or ("lrkit-predict-quick" if args.quick else DOCS)
    os.makedirs(OUT, exist_ok=True)
    import scipy
    import torch
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (1 torch thread per run), python "
          f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, torch {torch.__version__}")
    tasks = ("lm", "mnist") if args.task == "both" else (args.task,)
    outputs = {}
    for name in tasks:
        began = time.perf_counter()
        print(f"\n{name}:", flush=True)
        result, path = prepare(name, args.quick, args.seeds, args.jobs, args.reuse)
        opt = optimised(result)
        add_optimised(result, opt)
        if not args.reuse:
            train_missing(result, path, args.jobs, name, args.quick)
        result.save(path)
        outputs[name] = analyse(name, result, opt)
        times = [r.seconds for r in result.runs]
        outputs[name]["run_seconds"] = {"min": min(times), "median": float(np.median(times)), "max": max(times)}
        outputs[name]["seconds"] = time.perf_counter() - began
        report(outputs[name])
        print(f"   one run: {min(times):.0f}-{max(times):.0f} s wall (median {np.median(times):.0f} s)")
        if not args.no_figure:
            outputs[name]["_result"], outputs[name]["_opt"] = result, opt
    if not args.no_figure:
        figure = os.path.join(OUT, "predict.png")
        draw(outputs, figure)
        print(f"\nwrote {os.path.relpath(figure)}")
    for out in outputs.values():
        out.pop("_result", None), out.pop("_opt", None)
    path = os.path.join(OUT, "predict.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(outputs, f, indent=1, default=float)
    print(f"wrote {os.path.relpath(path)}")
    return 0


def draw(outputs, path):
    """Per task: the LR curves; actual (mean of seeds) and MPL-predicted training loss; predicted vs actual finals."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(15, 4.6 * len(outputs)), layout="constrained")
    axes = fig.subplots(len(outputs), 3, squeeze=False)
    for row, (name, out) in zip(axes, outputs.items()):
        result, opt = out["_result"], out["_opt"]
        law = opt["mpl"]["law"]
        steps = result.steps
        labels = [l for l in result.schedules]
        colors = {label: f"C{i % 10}" for i, label in enumerate(labels)}
        x = np.arange(steps)
        for label in labels:
            row[0].plot(x, lrkit.parse(result.schedules[label])(x.astype(float)), color=colors[label], label=label,
                        linestyle="--" if label in OPTIMISED else "-")
            loss = [r for r in result.runs if r.schedule == label]
            if loss:
                curve = np.mean([[v for _, v in r.losses] for r in loss], axis=0)
                width = max(1, steps // 60)
                smooth = np.convolve(curve, np.ones(width) / width, mode="valid")
                row[1].plot(np.arange(len(smooth)) + width // 2, smooth, color=colors[label], alpha=0.45, linewidth=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", predict.ExtrapolationWarning)
                p = law.predict(lrkit.parse(result.schedules[label]), steps)
            row[1].plot(p.steps, p.loss, color=colors[label], linewidth=1.6, linestyle="--" if label in OPTIMISED else "-")
        row[0].set_title(f"{name}: learning rates")
        row[0].legend(fontsize=7)
        row[1].set_title(f"{name}: training loss, seed mean (thin) and MPL fitted on constant+cosine (thick)", fontsize=9)
        finals = [f for f in np.concatenate([[r.losses[-1][1] for r in result.runs]]) if math.isfinite(f)]
        if finals:
            row[1].set_ylim(min(finals) * 0.9, np.percentile([v for r in result.runs for _, v in r.losses], 95))
        for ax in row[:2]:
            ax.set_xlabel("update")
            ax.grid(True, alpha=0.3)
        for law_name, marker in (("mpl", "o"), ("lra", "s")):
            for label, r in out["rows"].items():
                row[2].scatter(r["actual"]["mean"], r[law_name]["predicted"]["mean"], color=colors[label], marker=marker,
                               label=f"{label} ({law_name})" if law_name == "mpl" else None)
        lims = [min(min(r["actual"]["mean"], r["mpl"]["predicted"]["mean"], r["lra"]["predicted"]["mean"])
                    for r in out["rows"].values()),
                max(max(r["actual"]["mean"], r["mpl"]["predicted"]["mean"], r["lra"]["predicted"]["mean"])
                    for r in out["rows"].values())]
        pad = 0.05 * (lims[1] - lims[0] or 1.0)
        lims = [lims[0] - pad, lims[1] + pad]
        row[2].plot(lims, lims, color="black", linewidth=0.8)
        row[2].fill_between(lims, [v * 0.99 for v in lims], [v * 1.01 for v in lims], color="grey", alpha=0.2, label="±1%")
        row[2].set_xlim(lims), row[2].set_ylim(lims)
        row[2].set_xlabel("actual final training loss (mean of seeds)")
        row[2].set_ylabel("predicted (o: MPL, s: LRA)")
        row[2].set_title(f"{name}: held-out schedules, fitted per seed on constant+cosine", fontsize=9)
        row[2].legend(fontsize=7)
        row[2].grid(True, alpha=0.3)
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
