"""The review loop: escalations become cases, people decide, verdicts feed the bank.

cases.py     open a case in the scan's transaction; priority, thumbnail
queue.py     the queue and one case as each role may see it
verdicts.py  claim, verdict, appeal: conditional UPDATEs on the row version
state.py     a scan's current state (decision as made, case, verdict, action)
source.py    what the labeler reads of it (labeler.stores.ReviewSource)
deliver.py   the outbox deliverer: signed webhooks, at least once
"""
