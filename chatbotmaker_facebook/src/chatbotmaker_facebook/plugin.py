"""Registers messenger ``facebook``."""
