"""Video decoding with PyAV: probe a container and sample its frames.

Signals never see every frame of a video, and the decoder does not decode
every frame either. The sampling contract:

- a clock: 1 sample per second by default (`sample_fps`), faster for clips
  shorter than 16 s so that there are at least `min_samples`, sparser for
  long ones so that at most three quarters of `max_samples` go to the clock
  and the rest stays free for cuts; samples always cover the whole video;
- keyframes preferred: a keyframe within a third of the interval of a tick
  takes the tick's place (keyframes are intra-coded at the best quality of
  their group, so after a low-bitrate re-encode they keep the most of any
  pixel-level signal, the watermark), and a keyframe far from any sample is
  taken as an extra while the budget lasts;
- scene cuts: a decoded frame that differs from the one decoded before it
  adds a sample, so that a short inserted shot is not skipped. Cuts are
  looked for among the frames that are decoded anyway: keyframes (up to
  four per sample of the budget) and the walks to ticks that no keyframe
  serves. Encoders start a new group of pictures at a scene cut (x264,
  x265 and libvpx do by default), so a cut shows on a keyframe; a fixed-group
  encoder that ignores cuts can hide a shot shorter than its group between
  two keyframes that look alike, the price of not decoding every frame.

Which frames that takes is planned from the container's sample index before
anything is decoded (labeler/video/plan.py): a seek to each keyframe needed,
and a walk forward from a keyframe only for ticks no keyframe serves. A
14-minute clip with ordinary 4 s groups costs about what a 30 s one does;
`labeler.media.probe` reports a plan's cost so the caller can refuse a
costly one (very sparse keyframes) before decoding. Files without an index
(fragmented MP4) and dense bank references (`every_frame`) are decoded in
sequence, as before. Everything an uploader controls (duration, frame rate,
resolution, box structure, codec) is bounded by `VideoLimits` before or while
decoding, so a hostile file costs a bounded amount of work and ends in a
typed error, never a hang.

The modules (VideoLimits is labeler/limits.py's): `container` (open, header, plan),
`plan` (the sampling plan from the index), `decode` (the samples). Writing
video (the watermark embedder's re-encode) is the service's job
(service/media_encode.py): the labeler only reads uploads.
"""

from ..limits import VideoLimits
from .container import ALLOWED_CODECS, VideoProbe, plan_video, probe_video, sequential_frames
from .decode import DecodedVideo, Sample, SampleStats, decode_video, iter_samples

__all__ = [
    "ALLOWED_CODECS",
    "DecodedVideo",
    "Sample",
    "SampleStats",
    "VideoLimits",
    "VideoProbe",
    "decode_video",
    "iter_samples",
    "plan_video",
    "probe_video",
    "sequential_frames",
]
