"""An upload decoded once: the frames and facts every signal reads."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Media:
    data: bytes
    mime: str
    kind: str  # "image" | "video"
    sha256: str
    # the upload's own size in display orientation, even when decoded reduced
    width: int
    height: int
    # RGB uint8 H x W x 3 frames: one for an image, sampled frames for a video
    frames: tuple[np.ndarray, ...] = field(repr=False, default=())
    # for a video: each sampled frame's time in seconds (empty for an image)
    times: tuple[float, ...] = ()
    # for a video: indices of the sampled frames that are keyframes (intra-coded)
    key_frames: tuple[int, ...] = ()
    # what one signal computed that a later one reuses on the same upload (the
    # watermark detections per key: recovery reads the platform key's instead
    # of detecting twice); dropped with the upload, never pickled back
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def summary(self) -> dict:
        return {
            "mime": self.mime,
            "kind": self.kind,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
        }
