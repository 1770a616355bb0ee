"""neurodeploy.models"""
