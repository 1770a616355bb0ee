"""neurodeploy.study: grids of train -> export -> emu -> attack -> energy cells, resumable.

Modules, one concept each: ``grid`` (TOML grid -> validated cells), ``cell`` (one job: prepare a
run, or evaluate a cell step by step), ``scheduler`` (jobs in dependency order on a backend),
``pool`` (local processes), ``ray_backend`` (Ray tasks), ``runner`` (``run_study``),
``summary`` (``study.md``, ``study.json``, plots).
"""
