"""The NetX model format: layer dataclasses and a symmetric HDF5 read/write.

Every stage that handles a deployed model (export, runtime, hardware, energy, report, attacks)
imports this package; it imports no stage above it.
"""
from neurodeploy.netx.hdf5 import read, write
from neurodeploy.netx.layers import (MAX_DELAY, SUPPORTED, SYNAPTIC, UNLOADABLE, ConvLayer, CubaNeuron, DenseLayer,
                                     FlattenLayer, InputLayer, Layer, NetxFormatError, NetxModel,
                                     RecurrentDenseLayer, SigmaDeltaNeuron, conv_output_size, neuron_of)

__all__ = ["read", "write", "MAX_DELAY", "SUPPORTED", "SYNAPTIC", "UNLOADABLE", "ConvLayer", "CubaNeuron",
           "DenseLayer", "FlattenLayer", "InputLayer", "Layer", "NetxFormatError", "NetxModel",
           "RecurrentDenseLayer", "SigmaDeltaNeuron", "conv_output_size", "neuron_of"]
