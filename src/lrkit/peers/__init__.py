"""Every peer library's schedules under that library's own names, arguments and defaults.

``lrkit.peers.hf.cosine_with_min_lr(num_warmup_steps=100, num_training_steps=1000, min_lr_rate=0.1)``,
in specs and on the command line ``"hf.cosine_with_min_lr(num_warmup_steps=100, ...)"``. Each returns an
lrkit schedule (``.expanded`` shows it in lrkit's shapes) whose value at step k is the library's at its
step k. Pure core code: no peer library is imported. Prefixes: ``hf`` (transformers), ``timm``, ``optax``, ``keras``, ``deepspeed``, ``megatron``, ``olmo`` (OLMo-core).
"""
from . import deepspeed, hf, keras, megatron, olmo, optax, timm

__all__ = ["hf", "timm", "optax", "keras", "deepspeed", "megatron", "olmo"]
