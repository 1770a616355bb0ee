"""One schema per file kind neurodeploy reads, checked at the boundary (types, ranges, cross-field rules).

* :mod:`.checks`      the field checks every schema is built from (one-line :class:`BadInputError`
                      naming the file, the key and the problem)
* :mod:`.run_config`  a run's ``config.json`` (the fields of ``TrainConfig``; study grids reuse it)
* :mod:`.metrics`     a run's ``metrics.json``
* :mod:`.checkpoint`  a run's ``checkpoint.pt`` (keys and types; shapes against the model in ``runfolder``)
* :mod:`.model_card`  the model card inside a NetX file
* :mod:`.study_folder` a study folder's ``plan.json`` and cells' ``result.json`` / ``error.json``

Hardware profiles are checked by :mod:`neurodeploy.hardware.profiles`, NetX layer fields by
:mod:`neurodeploy.netx.hdf5`, NIR files by :mod:`neurodeploy.nir.schema`, study grids by
:mod:`neurodeploy.study.grid`. This package imports no stage of the pipeline.
"""
