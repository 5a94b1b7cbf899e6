"""Floor 1: the watermark signal (plain values in, frozen dataclasses out)."""
