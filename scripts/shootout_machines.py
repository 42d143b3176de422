"""Do the shoot-out's verdicts survive a change of machine? The built-in task run on several
"machines": torch's CPU kernels chosen with ``ATEN_CPU_CAPABILITY`` and oneDNN's convolution kernels
with ``ONEDNN_MAX_CPU_ISA``. Each machine's runs are bitwise reproducible; across machines the
floating-point sums differ in their last bits, and training turns that into different accuracies.

    python scripts/shootout_machines.py run --machine avx2 --seed 3 --out /tmp/machines   # one job
    python scripts/shootout_machines.py jobs --seeds 16                                   # the job list
    python scripts/shootout_machines.py analyze /tmp/machines [--json docs/shootout_machines.json]

``run`` starts one process per job with the machine's environment (it must be set before torch is
imported) and saves that seed's 8 runs. ``analyze`` prints, for each seed count n (seeds 0..n-1), each
machine's verdicts against ``constant`` and the verdicts that differ between machines, then the
spread of each schedule's mean and paired difference across machines.
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
            "from lrkit import _torch_shootout as b, _shootout\n"
            "task = b.MnistTask()\n"
            "r = _shootout.shootout(task, steps=task.steps, peak=b.PEAK, seeds=[int(sys.argv[1])], metric=b.METRIC,\n"
            "                       mode='max', progress=False, task=task.describe())\n"
            "d = r.to_dict(); d['task']['cpu_capability'] = torch.backends.cpu.get_cpu_capability()\n"
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


def _subset(result, n):
    import dataclasses
    seeds = tuple(s for s in result.seeds if s < n)
    return dataclasses.replace(result, seeds=seeds, runs=[r for r in result.runs if r.seed < n])


def analyze(folder, json_path=None):
    results = _load(folder)
    machines = sorted(results, key=list(MACHINES).index)
    common = sorted(set.intersection(*(set(r.seeds) for r in results.values())))
    n_max = max(n for n in range(1, len(common) + 1) if common[:n] == list(range(n)))
    labels = list(results[machines[0]].schedules)
    print(f"machines: {', '.join(machines)}; seeds 0..{n_max - 1} on every machine\n")
    summary = {"machines": {m: MACHINES[m] for m in machines}, "seeds": n_max, "by_seed_count": {}, "finals": {}}
    for n in range(2, n_max + 1):
        verdicts = {m: {r.label: r.verdict for r in _subset(results[m], n).rows()} for m in machines}
        best = {m: _subset(results[m], n).best() for m in machines}
        flips = [label for label in labels if len({verdicts[m][label] for m in machines}) > 1]
        print(f"n={n:2d} seeds: best mean " + ", ".join(f"{m}: {best[m]}" for m in machines)
              + f"; verdicts that differ between machines: {', '.join(flips) or 'none'}")
        summary["by_seed_count"][n] = {"verdicts": verdicts, "best": best, "differ": flips}
    print()
    rows = {m: {r.label: r for r in _subset(results[m], n_max).rows()} for m in machines}
    print(f"n={n_max}: mean accuracy and paired difference vs constant on each machine")
    for label in labels:
        cells = []
        for m in machines:
            r = rows[m][label]
            p = r.paired
            cells.append(f"{r.mean:6.2f}" + (f" {p.mean:+.2f} [{p.low:+.2f}, {p.high:+.2f}] {p.verdict}" if p else ""))
        means = [rows[m][label].mean for m in machines]
        print(f"  {label:15s} " + " | ".join(cells) + f"   spread of means {max(means) - min(means):.2f}")
    import numpy as np
    finals = np.array([[[results[m].finals(label)[s] for s in range(n_max)] for label in labels] for m in machines])
    across_machines = float(np.mean(finals.std(axis=0, ddof=1)))     # one schedule and seed, three machines
    across_seeds = float(np.mean(finals.std(axis=2, ddof=1)))        # one schedule and machine, n seeds
    print(f"\nfinal accuracy, std of one (schedule, seed) across machines: {across_machines:.2f} points on average; "
          f"std of one (schedule, machine) across seeds: {across_seeds:.2f}")
    summary["std_across_machines"], summary["std_across_seeds"] = across_machines, across_seeds
    for m in machines:
        summary["finals"][m] = {label: list(results[m].finals(label)[s] for s in range(n_max)) for label in labels}
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
    args = parser.parse_args()
    if args.verb == "run":
        run(args.machine, args.seed, args.out)
    elif args.verb == "jobs":
        for seed in range(args.seeds):
            for machine in MACHINES:
                print(machine, seed)
    else:
        analyze(args.folder, args.json)


if __name__ == "__main__":
    main()
