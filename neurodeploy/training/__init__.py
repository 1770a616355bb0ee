"""neurodeploy.training"""
