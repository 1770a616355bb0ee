"""neurodeploy.attacks"""
