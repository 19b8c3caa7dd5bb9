"""Observing an image and deciding assertions: detectors, judges, assertions."""
