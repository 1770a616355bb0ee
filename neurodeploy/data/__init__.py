"""neurodeploy.data"""
