"""Checking a config before anything runs: its schema, the rules Hydra's types cannot express,
what its ``_target_`` names and paths point at. Nothing here imports TensorFlow."""
