"""Software-defined assets of the monitoring loop, one module per stage."""
