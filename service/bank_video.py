"""Bank entries added from a video (issue 8): the dense vPDQ fingerprint row.

service/bank.py stays the one API; it calls `video_row` for media that sniff
as MP4/MOV and stores the row next to the entry in the same transaction.
"""

from __future__ import annotations

import json

from labeler.errors import LabelerError
from labeler.media import VIDEO_MIMES, sniff_mime
from labeler.signals.match.video import reference_fingerprint

from .db.bank_video import BankVideoRow


def video_row(data: bytes, invalid: type[Exception], low_quality: type[Exception]):
    """The fingerprint row for a video (entry_id set by the caller), None for an image."""
    if sniff_mime(data) not in VIDEO_MIMES:
        return None
    try:
        fp = reference_fingerprint(data)
    except LabelerError as exc:
        raise invalid(str(exc)) from None
    if not fp.frames:
        raise low_quality(
            "no frame of this video has PDQ quality >= 50: it is too flat or plain "
            "for its fingerprint to identify it"
        )
    last = fp.frames[-1].time_s
    return BankVideoRow(
        fingerprint=json.dumps(fp.to_dict()), frames=len(fp.frames), duration_s=last
    )
