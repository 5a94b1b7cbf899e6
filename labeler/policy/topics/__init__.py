"""Sensitive-topic term lists, one file per topic and language (`elections.nl.txt`).

A package only so that the lists ship inside the wheel with the policy.
"""
