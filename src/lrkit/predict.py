"""Predict a schedule's training loss before training it, and find a better schedule.

Fit a loss-curve law to a few logged runs (a schedule plus its training-loss curve), predict the loss
curve of any lrkit schedule with the fit's error, and return the schedule of lowest predicted final
loss within a family. Two laws:

- ``"mpl"``, the Multi-Power Law (Luo et al., ICLR 2025, "A Multi-Power Law for Loss Curve Prediction
  Across Learning Rate Schedules", arXiv 2503.12811)::

      L(n) = L0 + A * S(n)**-alpha - B * sum_{w<j<n} (eta[j-1] - eta[j]) * (1 - (C * eta[j]**-gamma * (S(n) - S(j)) + 1)**-beta)

- ``"lra"``, the LR-annealing law (Tissue et al. 2024, "Scaling Law with Learning Rate Annealing",
  arXiv 2408.11029): ``L(n) = L0 + A * S(n)**-alpha - C * S2(n)``, ``S2`` the momentum-decayed
  annealing area (its decay fitted among 0.9 to 0.999).

``S(n)`` is the area under the LR curve after ``n`` updates, computed from the schedule's exact value
at every update; ``w`` the warmup end. Needs numpy; :func:`fit` and :func:`optimize` also need scipy
(``pip install 'lrkit[predict]'``), plots need matplotlib.

>>> import numpy as np, lrkit
>>> from lrkit import predict
>>> law = predict.Law("mpl", dict(L0=1.0, A=1.0, alpha=0.5, B=0.5, C=0.1, beta=0.5, gamma=0.5), lr_scale=0.1,
...                   domain=dict(steps=1000, peak=0.1, min_peak=0.1), error=dict(rms=0.01, max=0.02))
>>> constant = law.final_loss(lrkit.constant(0.1), steps=1000)
>>> decayed = law.final_loss(lrkit.cosine(0.1, 0.0, steps=1000), steps=1000)
>>> round(constant, 4), decayed < constant
(1.0316, True)
"""
from ._predict_fit import (DECAY, HUBER, LAWS, POINTS, SKIP, ExtrapolationWarning, Law, Prediction, as_law, fit,
                           windows)
from ._predict_optimize import FAMILIES, Optimized, optimize
from ._predict_runs import FORMAT as RUN_FORMAT
from ._predict_runs import LossRun, as_runs, from_shootout, load_runs, register_reader, run

__all__ = [
    # runs
    "run", "LossRun", "load_runs", "from_shootout", "as_runs", "register_reader", "RUN_FORMAT",
    # laws
    "fit", "Law", "Prediction", "ExtrapolationWarning", "as_law", "windows", "LAWS", "POINTS", "SKIP", "HUBER", "DECAY",
    # schedules of lowest predicted loss
    "optimize", "Optimized", "FAMILIES",
]
