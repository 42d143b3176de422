"""Do the shoot-out's verdicts survive a change of machine? The built-in task run on several
"machines": torch's CPU kernels chosen with ``ATEN_CPU_CAPABILITY`` and oneDNN's convolution kernels
with ``ONEDNN_MAX_CPU_ISA``. Each machine's runs are bitwise reproducible; across machines the
floating-point sums differ in their last bits, and training turns that into different accuracies.

    python scripts/shootout_machines.py run --machine avx2 --seed 3 --out /tmp/machines   # one job
    python scripts/shootout_machines.py jobs --seeds 16                                   # the job list
    python scripts/shootout_machines.py analyze /tmp/machines [--json docs/shootout_machines.json]
    python scripts/shootout_machines.py merge /tmp/machines --machine avx2 --seeds 12 --out docs/shootout.json

``run`` starts one process per job with the machine's environment (it must be set before torch is
imported) and saves that seed's 8 runs. ``analyze`` prints, for each seed count n (seeds 0..n-1), each
machine's verdicts against ``constant`` and the verdicts that differ between machines, then the
spread of each schedule's mean and paired difference across machines. ``merge`` writes one machine's
seeds as one ``shootout.json``.
"""
import argparse
import json
import os
import subprocess
import sys

MACHINES = {
    "default": {"ATEN_CPU_CAPABILITY": "default"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "avx2+onednn-avx": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX"},
}


def run(machine, seed, out):
    env = dict(os.environ, **MACHINES[machine])
    code = ("import json, sys, torch\n"
            "from lrkit import _shootout\nfrom lrkit.torch import _shootout_task as b\n"
            "task = b.MnistTask()\n"
            "r = _shootout.shootout(task, steps=task.steps, peak=b.PEAK, seeds=[int(sys.argv[1])], metric=b.METRIC,\n"
            "                       mode='max', progress=False, task=task.describe())\n"
            "d = r.to_dict()  # d['task']['cpu_capability']: the kernels torch chose\n"
            "json.dump(d, open(sys.argv[2], 'w'))\n")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{machine}-seed{seed}.json")
    subprocess.run([sys.executable, "-c", code, str(seed), path], env=env, check=True)
    print(f"wrote {path}")


def _load(folder):
    """{machine: ShootoutResult over every seed found}, one per machine."""
    from lrkit._shootout import ShootoutResult
    merged = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        machine, _, rest = name[:-5].rpartition("-seed")
        with open(os.path.join(folder, name)) as f:
            data = json.load(f)
        if machine in merged:
            merged[machine]["runs"] += data["runs"]
            merged[machine]["seeds"] += data["seeds"]
        else:
            merged[machine] = data
    out = {}
    for machine, data in merged.items():
        data["seeds"] = sorted(data["seeds"])
        out[machine] = ShootoutResult.from_dict(data)
    return out


def merge(folder, machine, n, path):
    """Write one machine's seeds 0..n-1 as one shoot-out file: the runs ``lrkit shootout --seeds n`` makes on
    that machine (each run depends only on its schedule and seed); ``seconds`` is the sum of the parts'."""
    import dataclasses
    data = {}
    for seed in range(n):
        with open(os.path.join(folder, f"{machine}-seed{seed}.json")) as f:
            part = json.load(f)
        if data:
            data["runs"] += part["runs"]
            data["seconds"] += part["seconds"]
        else:
            data = part
    data["seeds"] = list(range(n))
    from lrkit._shootout import ShootoutResult
    result = ShootoutResult.from_dict(data)
    result = dataclasses.replace(result, runs=sorted(result.runs, key=lambda r: (r.seed, list(result.schedules).index(r.schedule))))
    result.save(path)
    print(result.summary())
    print(f"wrote {path}")


def _subset(result, n):
    import dataclasses
    seeds = tuple(s for s in result.seeds if s < n)
    return dataclasses.replace(result, seeds=seeds, runs=[r for r in result.runs if r.seed < n])


def _recipe_vs(result, recipe, label, n):
    """The recipe minus ``label``, paired over seeds 0..n-1."""
    from lrkit._shootout import paired
    ours, theirs = result.finals(recipe), result.finals(label)
    return paired([ours[s] for s in range(n)], [theirs[s] for s in range(n)], result.mode, result.confidence)


def _settled(differ, keys, n_max):
    """{key: the smallest n from which the machines agree on key's verdict up to n_max, or None}."""
    out = {}
    for key in keys:
        agree = [n for n in differ if key not in differ[n]]
        out[key] = next((n for n in agree if all(m in agree for m in range(n, n_max + 1))), None)
    return out


def _latest(settled):
    return None if None in settled.values() else max(settled.values())


def _interval(p):
    return f"{p.mean:+.2f} [{p.low:+.2f}, {p.high:+.2f}] {p.verdict}"


def analyze(folder, json_path=None, recipe="linear_to_zero"):
    import numpy as np
    results = _load(folder)
    machines = sorted(results, key=list(MACHINES).index)
    common = sorted(set.intersection(*(set(r.seeds) for r in results.values())))
    n_max = max(n for n in range(1, len(common) + 1) if common[:n] == list(range(n)))
    labels = list(results[machines[0]].schedules)
    others = [label for label in labels if label != recipe]
    print(f"machines: {', '.join(machines)}; seeds 0..{n_max - 1} on every machine\n")
    summary = {"machines": {m: MACHINES[m] for m in machines}, "seeds": n_max, "recipe": recipe,
               "by_seed_count": {}}
    differ, recipe_differ = {}, {}
    for n in range(2, n_max + 1):
        verdicts = {m: {r.label: r.verdict for r in _subset(results[m], n).rows()} for m in machines}
        versus = {m: {label: _recipe_vs(results[m], recipe, label, n).verdict for label in others} for m in machines}
        best = {m: _subset(results[m], n).best() for m in machines}
        differ[n] = [label for label in labels if len({verdicts[m][label] for m in machines}) > 1]
        recipe_differ[n] = [label for label in others if len({versus[m][label] for m in machines}) > 1]
        print(f"n={n:2d} seeds: best mean " + ", ".join(f"{m}: {best[m]}" for m in machines)
              + f"; verdicts vs constant that differ between machines: {', '.join(differ[n]) or 'none'}"
              + f"; {recipe} vs others: {', '.join(recipe_differ[n]) or 'none'}")
        summary["by_seed_count"][n] = {"verdicts": verdicts, "recipe_vs": versus, "best": best,
                                       "differ": differ[n], "recipe_vs_differ": recipe_differ[n]}
    settled, recipe_settled = _settled(differ, labels, n_max), _settled(recipe_differ, others, n_max)
    summary.update(settled=settled, all_settled=_latest(settled), recipe_vs_settled=recipe_settled,
                   recipe_vs_all_settled=_latest(recipe_settled))
    for title, table in (("vs constant", settled), (f"{recipe} vs", recipe_settled)):
        latest = _latest(table)
        print(f"\nthe machines agree on each verdict {title} from n seeds on (up to n={n_max}): "
              + ", ".join(f"{label} {'never' if n is None else n}" for label, n in table.items())
              + (f"; on all of them from n={latest}" if latest else "; not on all of them within these seeds"))

    print(f"\nn={n_max}: mean accuracy and paired difference vs constant on each machine")
    rows = {m: {r.label: r for r in _subset(results[m], n_max).rows()} for m in machines}
    summary["table"] = {}
    for label in labels:
        cells = []
        for m in machines:
            r = rows[m][label]
            cells.append(f"{r.mean:6.2f}" + (f" {_interval(r.paired)}" if r.paired else ""))
            summary["table"].setdefault(label, {})[m] = {"mean": r.mean, "std": r.std, "verdict": r.verdict} | (
                {"diff": r.paired.mean, "low": r.paired.low, "high": r.paired.high} if r.paired else {})
        means = [rows[m][label].mean for m in machines]
        print(f"  {label:15s} " + " | ".join(cells) + f"   spread of means {max(means) - min(means):.2f}")

    print(f"\nn={n_max}: {recipe} minus each other schedule, paired by seed, on each machine")
    summary["recipe_table"] = {}
    for label in others:
        pairs = {m: _recipe_vs(results[m], recipe, label, n_max) for m in machines}
        summary["recipe_table"][label] = {m: {"diff": p.mean, "low": p.low, "high": p.high, "verdict": p.verdict}
                                          for m, p in pairs.items()}
        print(f"  vs {label:15s} " + " | ".join(_interval(p) for p in pairs.values()))

    finals = np.array([[[results[m].finals(label)[s] for s in range(n_max)] for label in labels] for m in machines])
    across_machines = float(np.mean(finals.std(axis=0, ddof=1)))     # one schedule and seed, all machines
    across_seeds = float(np.mean(finals.std(axis=2, ddof=1)))        # one schedule and machine, n seeds
    same = float(np.mean(np.all(finals == finals[:1], axis=0)))
    print(f"\nfinal accuracy: std of one (schedule, seed) across machines {across_machines:.2f} points on average, "
          f"std of one (schedule, machine) across seeds {across_seeds:.2f}; "
          f"{same:.0%} of (schedule, seed) runs end on the same accuracy on every machine")
    summary.update(std_across_machines=across_machines, std_across_seeds=across_seeds, same_on_every_machine=same)
    summary["finals"] = {m: {label: [results[m].finals(label)[s] for s in range(n_max)] for label in labels}
                         for m in machines}
    if json_path:
        with open(json_path, "w") as f:
            json.dump(summary, f, indent=1)
        print(f"wrote {json_path}")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    one = verbs.add_parser("run")
    one.add_argument("--machine", choices=list(MACHINES), required=True)
    one.add_argument("--seed", type=int, required=True)
    one.add_argument("--out", required=True)
    jobs = verbs.add_parser("jobs")
    jobs.add_argument("--seeds", type=int, default=16)
    report = verbs.add_parser("analyze")
    report.add_argument("folder")
    report.add_argument("--json")
    report.add_argument("--recipe", default="linear_to_zero", help="the schedule compared with every other")
    together = verbs.add_parser("merge")
    together.add_argument("folder")
    together.add_argument("--machine", choices=list(MACHINES), required=True)
    together.add_argument("--seeds", type=int, required=True)
    together.add_argument("--out", required=True, help="the shootout.json to write")
    args = parser.parse_args()
    if args.verb == "run":
        run(args.machine, args.seed, args.out)
    elif args.verb == "jobs":
        for seed in range(args.seeds):
            for machine in MACHINES:
                print(machine, seed)
    elif args.verb == "merge":
        merge(args.folder, args.machine, args.seeds, args.out)
    else:
        analyze(args.folder, args.json, args.recipe)


if __name__ == "__main__":
    main()
