"""Generating, storing and scoring a group of items; scheduling across workers."""
