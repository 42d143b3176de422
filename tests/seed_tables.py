"""The tables the seed tutorial prints, copied verbatim from ../shared/seed/000_29c23cbb54c532c7.txt:
the test vectors every part of lrkit reproduces. The web copy of the PyTorch tables lost each line
break and the leading "第" of every line, so tests compare after the same two losses."""

# TensorFlow: y = x^2 from x = 5 under exponential_decay(0.1, global_step, 1, 0.96, staircase=True)
TF_TEXT = """\
After 1 iteration(s): x1 is 4.000000, learning rate is 0.096000.
After 11 iteration(s): x11 is 0.690561, learning rate is 0.063824.
After 21 iteration(s): x21 is 0.222583, learning rate is 0.042432.
After 31 iteration(s): x31 is 0.106405, learning rate is 0.028210.
After 41 iteration(s): x41 is 0.065548, learning rate is 0.018755.
After 51 iteration(s): x51 is 0.047625, learning rate is 0.012469.
After 61 iteration(s): x61 is 0.038558, learning rate is 0.008290.
After 71 iteration(s): x71 is 0.033523, learning rate is 0.005511.
After 81 iteration(s): x81 is 0.030553, learning rate is 0.003664.
After 91 iteration(s): x91 is 0.028727, learning rate is 0.002436."""

TF_LINES = TF_TEXT.splitlines()

# PyTorch, initial lr 0.1, Adam: what each scheduler example prints
TORCH = {
    'LambdaLR': '初始化的学习率: 0.11个epoch的学习率:0.1000002个epoch的学习率:0.0500003个epoch的学习率:0.0333334个epoch的学习率:0.0250005个epoch的学习率:0.0200006个epoch的学习率:0.0166677个epoch的学习率:0.0142868个epoch的学习率:0.0125009个epoch的学习率:0.01111110个epoch的学习率:0.010000',  # noqa: E501
    'StepLR': '初始化的学习率: 0.11个epoch的学习率:0.1000002个epoch的学习率:0.1000003个epoch的学习率:0.1000004个epoch的学习率:0.0100005个epoch的学习率:0.0100006个epoch的学习率:0.0100007个epoch的学习率:0.0010008个epoch的学习率:0.0010009个epoch的学习率:0.00100010个epoch的学习率:0.000100',  # noqa: E501
    'MultiStepLR': '初始化的学习率: 0.11个epoch的学习率:0.1000002个epoch的学习率:0.1000003个epoch的学习率:0.1000004个epoch的学习率:0.0100005个epoch的学习率:0.0100006个epoch的学习率:0.0100007个epoch的学习率:0.0100008个epoch的学习率:0.0010009个epoch的学习率:0.00100010个epoch的学习率:0.001000',  # noqa: E501
    'ExponentialLR': '初始化的学习率: 0.11个epoch的学习率:0.1000002个epoch的学习率:0.0100003个epoch的学习率:0.0010004个epoch的学习率:0.0001005个epoch的学习率:0.0000106个epoch的学习率:0.0000017个epoch的学习率:0.0000008个epoch的学习率:0.0000009个epoch的学习率:0.00000010个epoch的学习率:0.000000',  # noqa: E501
    'ReduceLROnPlateau': '初始化的学习率: 0.11个epoch的学习率:0.1000002个epoch的学习率:0.1000003个epoch的学习率:0.1000004个epoch的学习率:0.1000005个epoch的学习率:0.0100006个epoch的学习率:0.0100007个epoch的学习率:0.0100008个epoch的学习率:0.0010009个epoch的学习率:0.00100010个epoch的学习率:0.00100011个epoch的学习率:0.00010012个epoch的学习率:0.00010013个epoch的学习率:0.00010014个epoch的学习率:0.000010',  # noqa: E501
}
