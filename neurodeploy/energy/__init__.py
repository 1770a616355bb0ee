"""neurodeploy.energy"""
