"""neurodeploy.encoding"""
