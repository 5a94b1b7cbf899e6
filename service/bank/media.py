"""What the bank computes from media bytes: an image's (or a video's clearest frame's)
hashes, and a video's dense vPDQ fingerprint and keyframe rows."""

from __future__ import annotations

import json

import matching
from labeler.errors import LabelerError
from labeler.media import VIDEO_MIMES, decode, sniff_mime

from ..db.bank_video import BankVideoKeyframesRow, BankVideoRow
from .errors import InvalidMedia, LowQuality


def hash_media(
    data: bytes, filename: str | None = None, *, mirrored_features: bool = False
) -> tuple[matching.Hashes, str]:
    """Decode media bytes and compute every hash the bank stores; (hashes, sha256).

    `mirrored_features` marks a lookup (not an entry): it adds what a lookup
    needs, the mirrored crops' features and the queries' coarser scale.
    """
    try:
        media = decode(data, filename)
    except LabelerError as exc:
        raise InvalidMedia(str(exc)) from None
    if not media.frames:
        raise InvalidMedia(f"{media.mime}: no frames to hash")
    still = 0
    if media.kind == "video":
        # its clearest frame, so that a still taken from the video matches too
        # (imported here: labeler's video matching loads only when a video comes)
        from labeler.signals.match.video import clearest_frame

        still = clearest_frame(media.frames)
    try:
        hashes = matching.compute_hashes(
            media.frames[still],
            features=True,
            mirrored_features=mirrored_features,
            for_query=mirrored_features,
        )
    except matching.MatchingError as exc:
        raise InvalidMedia(str(exc)) from None
    return hashes, media.sha256


def video_rows(data: bytes) -> tuple[BankVideoRow, BankVideoKeyframesRow] | None:
    """The fingerprint and keyframe rows of a video (entry_id set by the caller);
    None for an image.

    Rows next to the entry: re-uploads of a video are matched over time
    (vPDQ), and cropped ones by local features on its keyframes.
    """
    if sniff_mime(data) not in VIDEO_MIMES:
        return None
    from labeler.signals.match.video import reference_prints

    try:
        fp, keyframes = reference_prints(data)
    except LabelerError as exc:
        raise InvalidMedia(str(exc)) from None
    if not fp.frames:
        raise LowQuality(
            "no frame of this video has PDQ quality >= 50: it is too flat or plain "
            "for its fingerprint to identify it"
        )
    last = fp.frames[-1].time_s
    row = BankVideoRow(fingerprint=json.dumps(fp.to_dict()), frames=len(fp.frames), duration_s=last)
    return row, BankVideoKeyframesRow(keyframes=keyframes.to_blob(), count=len(keyframes))
