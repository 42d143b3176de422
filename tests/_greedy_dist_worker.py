"""One rank of tests/test_greedy.py's distributed check: ``python _greedy_dist_worker.py RANK WORLD STORE OUT``.
Each rank feeds its own metric (rank-dependent) to lrkit.torch.GreedyLR(reduce=...) and to a ScheduleLR with
a greedy stage, and writes the LRs it applied (as hex) to OUT/rank<RANK>.json."""
import json
import math
import os
import sys

import torch

import lrkit
from lrkit.torch import GreedyLR, ScheduleLR


def metric(rank, epoch):
    """A loss that falls, stalls and wobbles, differently on each rank."""
    return 2.0 / (1 + epoch) ** 0.5 + 0.05 * math.sin(epoch * (rank + 1)) + (0.3 if 20 <= epoch < 40 else 0.0)


def main(rank, world, store, out, reduce):
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        dropin = GreedyLR(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.01, max_lr=1.0, smooth=True,
                          window_size=3, reduce=reduce)
        opt2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        stage = ScheduleLR(opt2, lrkit.constant(1.0), relative=True, reduce=reduce,
                           plateau=lrkit.greedy(factor=0.5, patience=1, cooldown=1, min_lr=0.01, max_lr=1.0,
                                                smooth=True, window_size=3, nonfinite="bad", threshold_rule="torch"))
        seen = []
        for epoch in range(60):
            opt.step()
            opt2.step()
            stage.step()
            m = metric(rank, epoch)
            dropin.step(m)
            stage.report(m)
            seen.append([opt.param_groups[0]["lr"].hex(), opt2.param_groups[0]["lr"].hex()])
        with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
            json.dump(seen, f)
    finally:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], None if sys.argv[5] == "None" else sys.argv[5])
