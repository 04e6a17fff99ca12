"""Tests of assays.protocols."""
