"""flowfix detectors: one module per rule family, one `Detector` subclass per rule."""
