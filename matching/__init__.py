"""Floor 1: the matching signal (plain values in, frozen dataclasses out)."""
