"""Sensitive-topic detection from captions and hashtags by term lists."""

from __future__ import annotations

import pytest

from labeler.policy import load_default_policy
from labeler.policy.terms import compile_topic, detect, fold, topic_key

ELECTIONS = load_default_policy().topics


def _topics(caption=None, hashtags=(), given=()):
    return detect(ELECTIONS, caption, tuple(hashtags), tuple(given))[0]


@pytest.mark.parametrize(
    "caption",
    [
        "Long queues at the polling station",  # en, phrase
        "ELECTION NIGHT!!",  # case
        "Wie wint de verkiezingen?",  # nl, wildcard term
        "Uitslagenavond in Den Haag",  # nl
        "Ga naar het stembureau",  # nl
        "Briefwahl nicht vergessen",  # de
        "Rendez-vous au bureau de vote",  # fr, phrase
        "Résultats de la présidentielle",  # fr, accents folded
        "Jornada electoral en Madrid",  # es
        "rigged   election",  # whitespace inside a phrase
    ],
)
def test_election_captions_in_several_languages(caption):
    assert _topics(caption) == ("elections",)


@pytest.mark.parametrize(
    "caption",
    [
        "my electricity bill",
        "a selection of votive candles",
        "the electorates",  # no partial words without a wildcard
        "Wir wählen ein Restaurant",  # 'wählen' (to choose) is not 'Wahlen' (elections)
        None,
        "",
    ],
)
def test_unrelated_captions_are_not_elections(caption):
    assert _topics(caption) == ()


@pytest.mark.parametrize("tag", ["#Elections2024", "verkiezingen", "#USElection", "#go_vote"])
def test_hashtags(tag):
    assert _topics(hashtags=[tag]) == ("elections",)


def test_caller_topics_are_normalised_and_reported():
    names, found = detect(ELECTIONS, None, (), (" Public Health ", "elections", "!!"))
    assert names == ("elections", "public_health")
    assert "public_health: given by the caller" in found


def test_where_a_topic_was_found_is_recorded():
    _, found = detect(ELECTIONS, "Stembiljet!", ("#vote", "#GE2024", "#Verkiezingen"), ())
    assert found == ("elections: caption term 'stembiljet'", "elections: hashtag #verkiezingen")


def test_fold_and_keys():
    assert fold("Élection") == "election"
    assert topic_key("US Elections 2024") == "us_elections_2024"


def test_compiled_topic_wildcards_and_digits():
    topic = compile_topic("t", ["vote*", "poll"], ())
    assert topic.find("voters and polls", ()) == ["t: caption term 'voters'"]
    assert topic.find("poll2024", ()) == ["t: caption term 'poll2024'"]


def test_hostile_captions_and_hashtags_stay_cheap():
    import time

    start = time.perf_counter()
    names = _topics("- " * 500_000 + "election", ["#Xyz" * 50] * 10_000 + ["#elections"])
    assert time.perf_counter() - start < 1.0
    # terms past the caps are not looked at
    assert names == ()
    assert _topics("ok " + "election", ["#cat"] * 99 + ["#verkiezingen"]) == ("elections",)
