"""neurodeploy.hardware: target profiles, resource tables, design rules and ``fit``.

``profiles`` (TOML, every figure sourced) -> ``resources`` (per-layer table) -> ``rules`` (one
function per design rule) -> ``fit`` (``FitReport.fits()``). Nothing here imports Lava.
"""
