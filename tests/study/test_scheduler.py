"""The job scheduler behind the pool and Ray backends."""
from __future__ import annotations


def test_scheduler_order_and_blocking():
    """Dependencies first; among ready jobs the lower priority starts first; a failed job blocks its dependents."""
    from neurodeploy.study.scheduler import Job, execute

    class Recorder:
        capacity = 1

        def __init__(self):
            self.order = []

        def submit(self, payload):
            self.order.append(payload["id"])
            return payload["id"]

        def wait(self, handles):
            h = handles[0]
            return [(h, {"id": h, "status": "failed" if h == "run:b" else "done", "error": None, "seconds": 0.0})]

    jobs = [Job("run:a", {"id": "run:a"}, priority=1), Job("run:b", {"id": "run:b"}, priority=1),
            Job("cell:a1", {"id": "cell:a1"}, ("run:a",)), Job("cell:b1", {"id": "cell:b1"}, ("run:b",)),
            Job("cell:x", {"id": "cell:x"})]
    b = Recorder()
    out = execute(jobs, b, progress=False)
    assert b.order == ["cell:x", "run:a", "cell:a1", "run:b"]
    assert out.results["cell:b1"]["status"] == "blocked" and out.ids("failed") == ["run:b"]
    assert sorted(out.ids("done")) == ["cell:a1", "cell:x", "run:a"]


def test_pool_workers_die_with_the_study(tmp_path):
    """A study process killed from outside (SIGKILL, no clean-up) leaves no worker computing."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    pidfile = tmp_path / "worker.pid"
    code = ("import concurrent.futures as cf, multiprocessing, os, time, sys\n"
            "from neurodeploy.study.pool import die_with_parent\n"
            "def job(path):\n"
            "    open(path, 'w').write(str(os.getpid()))\n"
            "    time.sleep(120)\n"
            "if __name__ == '__main__':\n"
            "    ex = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'), initializer=die_with_parent)\n"
            "    ex.submit(job, sys.argv[1])\n"
            "    time.sleep(120)\n")
    script = tmp_path / "study_like.py"
    script.write_text(code)
    parent = subprocess.Popen([sys.executable, str(script), str(pidfile)], cwd=root,
                              env={**os.environ, "PYTHONPATH": root})
    try:
        t0 = time.time()
        while not (pidfile.exists() and pidfile.read_text()) and time.time() - t0 < 120:
            time.sleep(0.2)
        worker = int(pidfile.read_text())
        os.kill(worker, 0)                                      # running
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        t0 = time.time()
        while time.time() - t0 < 10:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the worker outlived its parent")
    finally:
        parent.kill()
