"""neurodeploy.energy: activity counts and modelled energy/latency per inference.

The report is a thin layer over three calls::

    counts = counting.count_activity(model, inputs, outputs, steps=exit_steps)  # recorded trains
    snn = model.snn_energy(netx_model, counts, "loihi2")                          # modelled
    ann = model.ann_energy(netx_model, "cmos45-int8")                             # modelled ANN twin

plus the NeuroBench-named metrics in :mod:`neurodeploy.energy.counting`.
"""
