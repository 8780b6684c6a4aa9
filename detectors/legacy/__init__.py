"""Detectors still written on libcst, each to be replaced by its port in a family folder."""
