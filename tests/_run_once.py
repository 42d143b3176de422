"""Run an expensive helper process once per pytest session, even when pytest-xdist splits its tests.

Under xdist each worker builds module fixtures of its own; the workers of one session share the parent
of their base temporary directories, so the first to get there runs the command (under an flock) and
the others read what it wrote.
"""
import json
import os
import subprocess

try:
    import fcntl
except ImportError:  # not POSIX: no lock (and no xdist sharing needed for correctness, only for time)
    fcntl = None


def run_once(tmp_path_factory, name, command, env, timeout):
    """Run ``command + [outdir]`` once per session; returns (outdir, returncode, stderr)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    outdir = os.path.join(str(root), name)
    with open(os.path.join(str(root), name + ".lock"), "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        done = os.path.join(str(root), name + ".done.json")
        if not os.path.exists(done):
            os.makedirs(outdir, exist_ok=True)
            ended = subprocess.run(command + [outdir], env=env, capture_output=True, text=True, timeout=timeout)
            with open(done, "w") as f:
                json.dump({"returncode": ended.returncode, "stderr": ended.stderr[-8000:]}, f)
        with open(done) as f:
            result = json.load(f)
    return outdir, result["returncode"], result["stderr"]
