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
