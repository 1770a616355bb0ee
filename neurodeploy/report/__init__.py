"""neurodeploy.report"""
