"""Durable Content Credentials: renditions, the manifest repository, the soft-binding resolver.

`rendition.py` makes the served file (the platform's mark + a signed C2PA
manifest with a soft binding), `records.py` what it needs from the settings
and the repository row it leaves (service/db/manifests.py). Recovery is the
labeler's (`labeler/signals/recovered.py`), reading the repository through
service/db/manifest_source.py.
"""
