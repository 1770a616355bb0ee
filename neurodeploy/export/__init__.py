"""Export: a trained run -> a verified NetX file with its model card (the format is :mod:`neurodeploy.netx`)."""
