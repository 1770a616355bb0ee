"""Ray backend (``--ray ADDRESS|local``): one ``ray.remote(num_cpus=1)`` task per job, collected
with ``ray.wait``; each task pins torch to one thread (Ray sets OMP_NUM_THREADS but torch may
still start more threads).

``local`` starts a Ray instance on this machine (all its cores); an address joins a running
cluster. Workers import the same ``neurodeploy`` as this process: its folder is put on their
PYTHONPATH (a local instance) or shipped as a ``py_modules`` package (a cluster). Data and the
study folder must be reachable at the same paths on every node.
"""
from __future__ import annotations

import os
from pathlib import Path

from neurodeploy.errors import UnavailableError
from neurodeploy.study.cell import run_job


CONNECT_TIMEOUT_S = 5.0


def check_address(address: str) -> None:
    """Refuse, before any folder is made or Ray is started, an address that is not ``local``/``auto``
    or ``[ray://]HOST:PORT`` (UsageError), or whose port does not answer within a few seconds
    (UnavailableError): ``ray.init`` would otherwise wait minutes and print pages."""
    import socket

    from neurodeploy.errors import UsageError

    if address in ("local", "auto"):
        return
    hostport = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--ray {address}: expected 'local', 'auto' or [ray://]HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise UnavailableError(f"--ray {address}: cannot connect ({e.strerror or type(e).__name__})") from None


def _remote_run_job(payload: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    return run_job(dict(payload, threads=1))


class RayBackend:
    """Jobs as Ray tasks, as many in flight as the cluster has CPUs (so the scheduler, not Ray's
    queue, decides what runs next)."""

    def __init__(self, address: str = "local", num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise UnavailableError("--ray needs the 'ray' package (pip install 'ray==2.60.0')") from None
        import neurodeploy

        self._ray = ray
        pkg = Path(neurodeploy.__file__).resolve().parent
        self._owns = not ray.is_initialized()
        if self._owns:
            if address == "local":
                path = os.pathsep.join(p for p in (str(pkg.parent), os.environ.get("PYTHONPATH")) if p)
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": path}})
            else:
                try:
                    ray.init(address=address, log_to_driver=False, runtime_env={"py_modules": [str(pkg)]})
                except Exception as e:  # noqa: BLE001 - connection errors come in many types
                    raise UnavailableError(f"--ray {address}: cannot connect ({type(e).__name__}: {e})"[:300]) from None
        self._task = ray.remote(num_cpus=1)(_remote_run_job)
        self.capacity = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def submit(self, payload: dict):
        return self._task.remote(payload)

    def wait(self, handles: list) -> list:
        done, _ = self._ray.wait(handles, num_returns=1)
        out = []
        for ref in done:
            try:
                out.append((ref, self._ray.get(ref)))
            except Exception as e:  # noqa: BLE001 - a task that died (worker crash) is a failed job
                out.append((ref, {"id": "?", "status": "failed", "error": f"Ray task died: {type(e).__name__}",
                                  "seconds": 0.0}))
        return out

    def close(self):
        if self._owns:
            self._ray.shutdown()
