"""A one-line progress bar on stderr (no dependency): ``with progress(total, "label") as bar: bar.update(...)``.

``enabled=None`` shows it only when stderr is a terminal; ``True`` always, ``False`` never. ``bar.update(n=1,
**fields)`` advances it and shows the fields (``loss=0.31``) after the count.

>>> import io
>>> out = io.StringIO()
>>> with progress(4, "sweep", enabled=True, stream=out) as bar:
...     for i in range(4):
...         bar.update(loss=1.0 / (i + 1))
>>> out.getvalue().rstrip().rsplit("\\r", 1)[-1]
'sweep [########################] 4/4 loss=0.25'
"""
import sys
import time

BAR_WIDTH = 24


class _Bar:
    def __init__(self, total, label, enabled, stream):
        self.total = total
        self.label = label
        self.count = 0
        self.stream = stream
        self.enabled = enabled
        self._shown = 0.0

    def update(self, n=1, **fields):
        self.count += n
        if not self.enabled:
            return
        now = time.monotonic()
        if self.count < self.total and now - self._shown < 0.1:
            return
        self._shown = now
        done = int(BAR_WIDTH * min(self.count, self.total) / self.total) if self.total else BAR_WIDTH
        text = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        line = f"{self.label} [{'#' * done}{'.' * (BAR_WIDTH - done)}] {self.count}/{self.total} {text}"
        self.stream.write("\r" + line.rstrip())
        self.stream.flush()

    def close(self):
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()


class progress:
    """Context manager giving a :class:`_Bar`; the line is ended on exit."""

    def __init__(self, total, label="", enabled=None, stream=None):
        stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = hasattr(stream, "isatty") and stream.isatty()
        self.bar = _Bar(total, label, bool(enabled), stream)

    def __enter__(self):
        return self.bar

    def __exit__(self, *exc):
        self.bar.close()
        return False
