"""Clocks and batch-size schedules (issue 15): a schedule written in tokens, samples, epochs or fractions,
evaluated per update; the batch a real DataLoader draws and the tokens the LR schedule counts agree.
"""
import math

import numpy as np
import pytest

import lrkit

SEQ = 16
RAMP = lrkit.batch_ramp(4, 16, increment=4, over=96, seq_len=SEQ)  # 4 -> 8 -> 12 -> 16 over 96 samples
IN_TOKENS = lrkit.warmup(lrkit.cosine(1e-3, 1e-4, steps=20_000), steps=2_000)  # written in tokens


def test_tokens_are_a_closed_form_of_the_ramp():
    """The tokens before update k, summed by hand update by update, equal the closed form at any k."""
    consumed, by_hand = 0, []
    for k in range(200):
        by_hand.append(consumed)
        consumed += RAMP(k) * SEQ
    assert [RAMP.tokens(k) for k in range(200)] == by_hand
    assert list(RAMP.tokens(np.arange(200))) == by_hand
    assert RAMP.tokens(10 ** 9) == by_hand[-1] + (10 ** 9 - 199) * 16 * SEQ  # random access, far away


def test_a_hand_counted_loop_on_a_real_dataloader_gets_the_lr_of_its_tokens():
    """A DataLoader driven by RampBatchSampler (micro-batches of 4, the accumulation growing with the ramp)
    and ScheduleLR under the same spec written in tokens: update k's LR is the spec at the tokens the loop
    counted by hand before it."""
    torch = pytest.importorskip("torch")
    import lrkit.torch as K
    data = torch.utils.data.TensorDataset(torch.arange(4000).float())
    sampler = K.RampBatchSampler(torch.utils.data.SequentialSampler(data), RAMP, micro_batch=4)
    loader = torch.utils.data.DataLoader(data, batch_sampler=sampler)
    spec = f"clocked({IN_TOKENS!r}, unit='tokens', batch={RAMP!r})"
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = K.ScheduleLR(opt, spec)
    plan = sched.batch_plan()
    assert [plan.batch_size(k) for k in range(40)] == [K.BatchPlan(RAMP).batch_size(k) for k in range(40)]
    tokens, update, micro, seen, lrs = 0, 0, 0, [], []
    for (batch,) in loader:
        seen.extend(int(i) for i in batch)
        micro += len(batch)
        if micro < plan.batch_size(update):
            continue  # accumulate
        assert micro == plan.batch_size(update) == RAMP(update)
        lrs.append((tokens, opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
        tokens += micro * SEQ
        update, micro = update + 1, 0
    assert seen == list(range(len(seen))) and len(seen) > 3900  # every sample once, in order
    assert [lr for _, lr in lrs] == [IN_TOKENS(t) for t, _ in lrs]  # the same per-step path: bitwise
    assert update == len(lrs) and lrs[-1][0] == RAMP.tokens(update - 1)


def test_the_sampler_resumes_at_an_update_and_counts_its_length():
    torch = pytest.importorskip("torch")
    import lrkit.torch as K
    sampler = K.RampBatchSampler(torch.utils.data.SequentialSampler(range(100)), RAMP, start_update=3)
    sizes = [len(b) for b in sampler]
    assert sizes == [int(RAMP(k)) for k in range(3, 3 + len(sizes))] and len(sizes) == len(
        K.RampBatchSampler(torch.utils.data.SequentialSampler(range(100)), RAMP, start_update=3))
    assert sampler.update == 3 + len(sizes)


@pytest.mark.parametrize("adapter", ["optax", "keras"])
def test_every_adapter_evaluates_the_spec_at_the_tokens_of_update_k(adapter):
    s = lrkit.clocked(IN_TOKENS, unit="tokens", batch=RAMP)
    ks = np.arange(0, 400)
    expected = [IN_TOKENS(RAMP.tokens(int(k))) for k in ks]
    if adapter == "optax":
        pytest.importorskip("optax")
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        try:
            from lrkit.optax import to_optax
            got = [float(v) for v in jax.jit(jax.vmap(to_optax(s)))(ks)]
        finally:
            jax.config.update("jax_enable_x64", False)
    else:
        pytest.importorskip("keras")
        from lrkit.keras import KerasSchedule
        lr = KerasSchedule(s)
        got = [float(lr(int(k))) for k in ks]
    np.testing.assert_allclose(got, expected, rtol=1e-6)  # keras: float32


def test_fractions_and_epochs():
    s = lrkit.parse("clocked(warmup(cosine(1.0, 0.0, steps=0.95), steps=0.05), unit='fraction', total=1000)")
    assert s(50) == 1.0 and s(25) == 0.5 and s(1000) == 0.0 and s.end_step() == 1000
    e = lrkit.clocked(lrkit.multistep(1.0, milestones=[30, 60]), unit="epochs", updates_per_epoch=100)
    assert [e(k) for k in (2999, 3000, 6000)] == [1.0, 0.1, pytest.approx(0.01)]
    assert sorted(ev.step for ev in e.events(10_000)) == [3000.0, 6000.0]


@pytest.mark.parametrize("call, message", [
    (lambda: lrkit.clocked(lrkit.constant(1.0), unit="epochs"), "unit='epochs' needs updates_per_epoch"),
    (lambda: lrkit.clocked(lrkit.constant(1.0), unit="fraction"), "unit='fraction' needs total"),
    (lambda: lrkit.clocked(lrkit.constant(1.0), unit="minutes"), "unit must be one of"),
    (lambda: lrkit.clocked(lrkit.constant(1.0), unit="tokens", batch=0), "batch must be > 0"),
    (lambda: lrkit.clocked(lrkit.constant(1.0), unit="tokens", batch=lrkit.constant(2.0)), "batch must be a number"),
    (lambda: lrkit.clocked(lrkit.constant(1.0), unit="tokens", batch=RAMP, seq_len=8), "differs from the batch"),
    (lambda: lrkit.batch_ramp(4, 10, increment=4, over=10), "whole number .* of increments"),
    (lambda: lrkit.batch_ramp(1, 10 ** 12, increment=1, over=10), "more than 10,000 .*MAX_PARTS"),
    # (end - start) / increment overflows to inf: once an OverflowError from int(inf), found by the fuzz run
    (lambda: lrkit.parse("batch_ramp(1, 1e+308, 0.5, 1)"), "inf increments, more than 10,000"),
    (lambda: lrkit.batch_sizes([0.5, 2], boundaries=[3]), "batch sizes\\) must be >= 1"),
    (lambda: lrkit.batch_sizes([1, 2], boundaries=[3, 4]), "one more entry than boundaries"),
    (lambda: lrkit.batch_scaled(lrkit.constant(1.0), RAMP, base=1, rule="cube"), "rule must be one of"),
])
def test_clock_errors(call, message):
    with pytest.raises(lrkit.LrkitError, match=message):
        call()


def test_a_decay_the_ramp_leaves_unfinished_is_flagged():
    """Megatron-Bridge#2609: the run length in updates computed at the final batch size; under the ramp
    those updates consume fewer tokens, and a schedule written in tokens does not finish."""
    schedule = lrkit.wsd(1e-3, steps=1_000_000, warmup=10_000, decay=200_000)  # in tokens
    ramp = lrkit.batch_ramp(4, 16, increment=4, over=30_000, seq_len=SEQ)  # half the run's 62,500 samples
    naive_total = 1_000_000 / (16 * SEQ)
    short = lrkit.clocked(schedule, unit="tokens", batch=ramp, total=naive_total)
    warning, = short.warnings()
    assert "cannot finish within the run" in warning and "tokens" in warning
    assert short.time(naive_total) < 0.8 * 1_000_000 and short(naive_total) > 1e-4  # mid-decay at the end
    right = lrkit.clocked(schedule, unit="tokens", batch=ramp, total=short.update_of(1_000_000))
    assert right.warnings() == [] and right(right.total) == 0.0


def test_batch_scaled_follows_the_rule():
    batch = lrkit.batch_sizes([256, 512, 2048], boundaries=[100, 200])
    sqrt = lrkit.batch_scaled(lrkit.constant(1e-3), batch, base=256)
    linear = lrkit.batch_scaled(lrkit.constant(1e-3), batch, base=256, rule="linear")
    for k, b in ((0, 256), (150, 512), (250, 2048)):
        assert sqrt(k) == pytest.approx(1e-3 * math.sqrt(b / 256), rel=1e-15)
        assert linear(k) == pytest.approx(1e-3 * b / 256, rel=1e-15)


def test_seesaw_raises_the_batch_where_the_lr_would_halve():
    """Meterez et al. 2025: where the base schedule has halved n times, the batch is 2^n times larger and
    the LR only sqrt(2)^n lower than it would have been without the cuts (the base times 2^(n/2))."""
    base = lrkit.cosine(1e-3, 0.0, steps=4_000_000)  # in tokens
    plan = lrkit.seesaw(base, batch=64, factor=2.0, max_batch=512, seq_len=SEQ)
    assert plan.batch.values == (64.0, 128.0, 256.0, 512.0)
    for n, threshold in enumerate(plan.batch.boundaries, start=1):
        assert base(threshold) <= 1e-3 / 2 ** n < base(threshold - 1)  # the first token where it has halved n times
    batch = plan.batch
    for k in range(0, 6000, 7):
        tokens = batch.tokens(k)
        n = int(math.log2(batch(k) / 64))
        assert plan.lr(k) == pytest.approx(base(tokens) * 2 ** (n / 2), rel=1e-12)
        assert batch(k) == 64 * 2 ** n
    switch = int(batch.update_at(batch.boundaries[0] / SEQ))
    assert batch(switch) == 128 and batch(switch - 1) == 64
    assert batch.tokens(switch) >= batch.boundaries[0] > batch.tokens(switch - 1)
    serial = batch.update_at(4_000_000 / SEQ)
    assert serial < 4_000_000 / (64 * SEQ)  # fewer serial updates for the same tokens


def test_clock_values_print_save_and_load():
    s = lrkit.seesaw(lrkit.linear(1.0, 0.0, steps=1000), batch=10, unit="samples", max_batch=40).lr
    assert lrkit.parse(repr(s)) == s and lrkit.from_config(s.to_config()) == s
