"""Decoder error messages are read by uploaders (HTTP answers, `aigc scan --json`, batch
reports): they say what is wrong with the file, never what is in the server's memory."""

from __future__ import annotations

import pytest

from labeler.errors import MediaDecodeError
from labeler.media import decode

PNG_SIG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("data", [PNG_SIG, b"GIF89a\x01\x00", b"II*\x00\x08\x00\x00\x00"])
def test_decoder_messages_show_no_object_addresses(data):
    with pytest.raises(MediaDecodeError) as info:
        decode(data)
    assert " at 0x" not in str(info.value)
