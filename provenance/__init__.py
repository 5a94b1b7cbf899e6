"""Floor 1: the provenance signal (plain values in, frozen dataclasses out)."""
