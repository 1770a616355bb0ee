"""neurodeploy.runtime"""
