"""Deployment runtime: run exported NetX models on ``emu`` (integer-exact PyTorch emulator of
Lava's fixed-point models), ``sim`` (Lava's CPU simulator) or ``loihi2`` (the chip).

Public API (imported lazily; this package must stay free of import-time side effects because
Lava's compiler imports ``runtime/lava_procs``):

* :func:`neurodeploy.runtime.api.run_model`, :class:`~neurodeploy.runtime.api.RunResult`,
  :func:`~neurodeploy.runtime.api.encode_dataset_for_model`
* :func:`neurodeploy.runtime.emu.emulate` (per-step spikes, optionally of every layer)
* :func:`neurodeploy.runtime.sim.simulate` (Lava, with in-simulation early exit)
* :class:`neurodeploy.runtime.exit_rules.ExitRule`, :func:`~neurodeploy.runtime.exit_rules.apply_exit_rule`
"""

_EXPORTS = {
    "run_model": "api", "RunResult": "api", "encode_dataset_for_model": "api",
    "emulate": "emu", "EmuResult": "emu", "simulate": "sim", "SimResult": "sim",
    "ExitRule": "exit_rules", "apply_exit_rule": "exit_rules",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"neurodeploy.runtime.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'neurodeploy.runtime' has no attribute '{name}'")
