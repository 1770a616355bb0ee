"""neurodeploy.report: modelled energy and latency of a deployed model on a hardware target.

``make_report(model_path, target, ...)`` runs the NetX model on the emulator (or Lava's simulator),
counts its activity with and without early exit, costs it with a hardware profile and returns an
:class:`EnergyReport`; with ``out=DIR`` it also writes ``report.json``, ``report.md`` and PNG plots.
Every energy and latency figure is labelled "modelled".
"""
from neurodeploy.report.energy_report import DEFAULT_EXIT, EnergyReport, Scenario, SweepPoint, make_report

__all__ = ["DEFAULT_EXIT", "EnergyReport", "Scenario", "SweepPoint", "make_report"]
