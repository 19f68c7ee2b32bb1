"""Rendering output objects to bytes and writing them to disk safely."""
