"""uvicorn for `aigc serve`, hardened against slow and malformed clients.

Kept apart from `service.app` on purpose: with `--workers N` each worker
unpickles its config (which names `protocol.GuardedH11Protocol` and the log
handler in `logs`) before it answers uvicorn's supervisor, so these modules
must import in a fraction of a second, without the app and the labeler.
"""
