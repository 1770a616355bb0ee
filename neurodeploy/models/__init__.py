"""Models: named topologies, SLAYER CUBA SNNs and their ANN twins, and classifiers wrapping them."""
