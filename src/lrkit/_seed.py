"""The seed tutorial's examples, run on lrkit: each returns the lines the tutorial prints."""
import numpy as np

from . import tf
from ._recipes import multistep, step_decay
from ._shapes import exponential, function


def tf_square_run(steps=100, every=10):
    """TF1 gradient descent on y = x^2 from x = 5 (float32, as TF) under
    ``exponential_decay(0.1, global_step, 1, 0.96, staircase=True)``: update i uses lr(i), and the
    LR printed after it is lr(i + 1), since TF increments global_step after applying."""
    x = np.float32(5.0)
    lines = []
    for i in range(steps):
        lr = tf.exponential_decay(0.1, i, 1, 0.96, staircase=True, dtype="float32")
        x = x - (np.float32(2.0) * x) * lr  # tf.square's gradient, then ApplyGradientDescent
        if i % every == 0:
            printed = tf.exponential_decay(0.1, i + 1, 1, 0.96, staircase=True, dtype="float32")
            lines.append("After %s iteration(s): x%s is %f, learning rate is %f." % (i + 1, i + 1, x, printed))
    return lines


def _inverse_epoch(epoch):
    return 1 / (epoch + 1)


#: The seed's PyTorch scheduler examples (initial lr 0.1, Adam) as lrkit schedules.
TORCH_EXAMPLES = {
    "LambdaLR(lr_lambda=lambda epoch: 1/(epoch+1))": function(_inverse_epoch) * 0.1,
    "StepLR(step_size=3, gamma=0.1)": step_decay(0.1, period=3, gamma=0.1),
    "MultiStepLR(milestones=[3, 7], gamma=0.1)": multistep(0.1, milestones=[3, 7], gamma=0.1),
    "ExponentialLR(gamma=0.1)": exponential(0.1, 0.1),
}


def epoch_table(schedule, epochs=10, initial=0.1):
    """The seed's printout: the initial LR, then the LR each epoch (1-based) trains with."""
    lines = ["初始化的学习率: %s" % initial]
    lines += ["第%d个epoch的学习率:%f" % (epoch, schedule(epoch - 1)) for epoch in range(1, epochs + 1)]
    return lines
