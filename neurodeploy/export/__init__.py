"""Export: the NetX HDF5 file format (read/write) and the trained-run -> NetX exporter."""
