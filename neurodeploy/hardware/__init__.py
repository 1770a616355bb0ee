"""neurodeploy.hardware"""
