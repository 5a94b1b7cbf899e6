"""The local-feature stage: guided count, tiny images, candidate index vs exhaustive."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

import matching
from matching.features import MAX_UPSCALE, LocalFeatures, extract_features, verify
from matching.votes import DescriptorVotes

BANKED = ("astronaut", "camera", "chelsea", "coins", "moon", "rocket", "immunohistochemistry")


def _rgb(name: str) -> np.ndarray:
    img = getattr(skdata, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def _faces(n: int) -> list[np.ndarray]:
    out = []
    for face in skdata.lfw_subset()[:n]:
        g = cv2.resize((face * 255).astype(np.uint8), (200, 200), interpolation=cv2.INTER_CUBIC)
        out.append(np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2)))
    return out


def _query(img: np.ndarray) -> matching.Hashes:
    return matching.compute_hashes(
        np.ascontiguousarray(img), features=True, mirrored_features=True, for_query=True
    )


@pytest.fixture(scope="module")
def entries():
    return {n: matching.compute_hashes(_rgb(n), features=True) for n in BANKED}


@pytest.fixture(scope="module")
def bank(entries):
    b = matching.Bank()
    for name, h in entries.items():
        b.add(name, h, category="known_aigc")
    return b


def test_no_image_is_accepted_against_an_entry_it_is_not_a_copy_of(entries):
    # exhaustive: every side of every distinct query against every entry,
    # whatever the candidate stage would pick
    cfg = matching.MatchConfig()
    distinct = [_rgb("coffee"), _rgb("text"), *_faces(12)]
    distinct += [_rgb(n)[::2, ::2] for n in ("brick", "grass", "page")]
    for img in distinct:
        q = _query(img)
        for side in (q.features, q.features_mirrored):
            for name, e in entries.items():
                v = verify(side, e.features)
                assert not cfg.accepts(v), (name, v)
                assert v.guided < cfg.min_guided or cfg.min_guided == 0


def test_a_half_crop_with_few_ratio_test_inliers_is_confirmed_by_the_guided_count(entries):
    cfg = matching.MatchConfig()
    img = _rgb("chelsea")
    h, w = img.shape[:2]
    crop = img[h // 2 :, : w // 2]  # bottom-left quarter of the area: mostly fur
    v = verify(_query(crop).features, entries["chelsea"].features)
    assert 0.45 <= v.scale <= 0.55
    # the guided count finds more of the same transform than the ratio test
    assert v.guided > v.inliers
    assert cfg.accepts(v)


def test_orb1_blobs_still_load_and_verify_without_the_guided_count(entries):
    e = entries["camera"].features
    old = LocalFeatures(e.points, e.descriptors, e.width, e.height)  # no angles: ORB1
    blob = old.to_blob()
    assert blob[:4] == b"ORB1"
    back = LocalFeatures.from_blob(blob)
    assert back.angles is None
    v = verify(_query(_rgb("camera")[50:450, 60:460]).features, back)
    assert v.guided == 0 and matching.MatchConfig().accepts(v)
    new = LocalFeatures.from_blob(e.to_blob())
    assert new.to_blob()[:4] == b"ORB2"
    turn = (new.angles - e.angles + 180) % 360 - 180  # one byte: 360/256 degree steps
    assert np.abs(turn).max() <= 360 / 512 + 1e-3


def test_tiny_images_are_enlarged_at_most_max_upscale_and_still_match():
    # skimage's microaneurysms is 102 px: enlarged 6x to 640 px, ORB's corners
    # were interpolation ripples (a 15% sticker broke the match); at 320 px not
    tiny = _rgb("microaneurysms")
    assert max(tiny.shape[:2]) * MAX_UPSCALE < matching.features.FEATURE_SIDE
    feats = extract_features(tiny)
    assert max(feats.width, feats.height) == matching.features.FEATURE_SIDE  # 640 frame
    assert feats.points.max() <= matching.features.FEATURE_SIDE
    b = matching.Bank()
    for name in ("microaneurysms", "moon", "cell", "camera"):
        b.add(name, matching.compute_hashes(_rgb(name), features=True), category="known_aigc")
    stickered = tiny.copy()
    cv2.circle(stickered, (60, 40), 22, (255, 210, 0), -1)
    best = b.lookup(_query(stickered)).best
    assert best is not None and best.entry_id == "microaneurysms"


def test_candidate_index_gives_the_exhaustive_answers_on_a_small_bank(bank, entries):
    cfg = bank.config
    queries = {}
    for name in ("astronaut", "camera", "rocket", "coins"):
        img = _rgb(name)
        h, w = img.shape[:2]
        queries[f"{name} crop"] = (name, img[h // 8 : h - h // 5, w // 6 : w - w // 10])
        cap = img.copy()
        cap[: h // 6] = 255
        queries[f"{name} caption"] = (name, cap)
    for i, face in enumerate(_faces(6)):
        queries[f"face{i}"] = (None, face)
    queries["coffee"] = (None, _rgb("coffee"))
    for label, (truth, img) in queries.items():
        q = _query(img)
        exhaustive = {
            name
            for name, e in entries.items()
            if cfg.accepts(verify(q.features, e.features))
            or cfg.accepts(verify(q.features_mirrored, e.features))
        }
        found = {m.entry_id for m in bank.lookup(q).matches if m.stage == "local_features"}
        hashed = bank.lookup(q).best
        if hashed is not None and hashed.stage == "hash":
            continue  # the hash stage answered first; nothing to compare
        assert found == exhaustive, label
        assert found == ({truth} if truth else set()), label


def test_substring_votes_find_the_nearest_descriptor_when_it_shares_a_substring():
    rng = np.random.default_rng(3)
    bank_desc = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    owners = np.repeat(np.arange(50), 100)
    votes = DescriptorVotes(owners, bank_desc, 50)
    # queries: bank descriptors of owner 7 with 30 bits flipped (most keep a substring)
    q = bank_desc[700:800].copy()
    bits = np.unpackbits(q, axis=1)
    for row in bits:
        row[rng.choice(256, 30, replace=False)] ^= 1
    q = np.packbits(bits, axis=1)
    got = votes.votes(q, max_distance=64)
    assert got.argmax() == 7 and got[7] >= 80 and got.sum() == got[7]
    # random queries are far from everything: no votes within 64 bits
    assert votes.votes(rng.integers(0, 256, (200, 32), dtype=np.uint8)).sum() == 0


def test_substring_windows_widen_with_the_bank_and_still_find_close_descriptors():
    from matching import votes as v

    assert v.key_bits(0) == v.key_bits(4 << 16) == 16  # small banks: 16-bit windows as before
    assert v.key_bits((4 << 16) + 1) == 17
    assert v.key_bits(6_500_000) == 21 and v.key_bits(65_000_000) == 24
    rng = np.random.default_rng(4)
    desc = rng.integers(0, 256, (6, 32), dtype=np.uint8)
    bits = np.unpackbits(np.concatenate([desc, desc[:, :4]], axis=1), axis=1)
    for width in (16, 21, 24):
        want = [
            [int("".join(map(str, b[16 * c : 16 * c + width])), 2) for c in range(16)] for b in bits
        ]
        assert (v._chunks(desc, width) == np.array(want)).all(), width
    bank_desc = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    owners = np.repeat(np.arange(50), 100)
    q = np.unpackbits(bank_desc[700:800], axis=1)
    for row in q:
        row[rng.choice(256, 20, replace=False)] ^= 1
    q = np.packbits(q, axis=1)
    for width in (16, 21, 24):
        got = DescriptorVotes(owners, bank_desc, 50, bits=width).votes(q, max_distance=64)
        assert got.argmax() == 7 and got[7] >= 80 and got.sum() == got[7], width


def _reference_votes(owners, bank_desc, n_owners, query, bits, max_distance=64):
    """The rule `DescriptorVotes` implements, one query descriptor at a time."""
    from matching import votes as v

    size = len(bank_desc)
    keys = v._chunks(bank_desc, bits)
    qkeys = v._chunks(query, bits)
    max_bucket = max(
        v.MIN_BUCKET if bits <= v.MIN_BITS else v.WIDE_MIN_BUCKET,
        v.BUCKET_FACTOR * size // (1 << bits),
    )
    max_prefix = max(v.MIN_BUCKET, v.BUCKET_FACTOR * size >> v.MIN_BITS)
    dist = np.unpackbits(query[:, None, :] ^ bank_desc[None, :, :], axis=2).sum(axis=2)
    out = np.zeros(n_owners, np.int64)
    for i in range(len(query)):
        shared = np.zeros(size, bool)
        for c in range(v.CHUNKS):
            members = keys[:, c] == qkeys[i, c]
            crowded = members.sum() > max_bucket
            if bits > v.MIN_BITS:
                shift = bits - v.MIN_BITS
                prefix = (keys[:, c] >> shift) == (qkeys[i, c] >> shift)
                crowded |= prefix.sum() > max_prefix
            if not crowded:
                shared |= members
        rows = np.flatnonzero(shared & (dist[i] <= max_distance))
        if len(rows):
            out[owners[rows[np.lexsort((rows, dist[i, rows]))[0]]]] += 1
    return out


@pytest.mark.parametrize("width", [16, 17])
def test_substring_votes_follow_the_rule_exactly_with_crowded_buckets(width):
    # a bank with crowded substrings (a flat patch's descriptors share most
    # bytes) and close neighbours in several owners: the tables (crowded
    # buckets stored empty, one pass over every window) give exactly the votes
    # of the rule, nearest ties going to the first row
    rng = np.random.default_rng(9)
    bank_desc = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    bank_desc[:400, :6] = 17  # crowded windows 0-2 for 400 descriptors
    bank_desc[2000:2100] = bank_desc[100:200]  # exact duplicates in another owner
    owners = np.repeat(np.arange(30), 100)
    base = np.concatenate([bank_desc[:150], bank_desc[1500:1550]])
    bits = np.unpackbits(base, axis=1)
    for row in bits:
        row[rng.choice(256, int(rng.integers(5, 50)), replace=False)] ^= 1
    query = np.concatenate([np.packbits(bits, axis=1), rng.integers(0, 256, (20, 32), np.uint8)])
    got = DescriptorVotes(owners, bank_desc, 30, bits=width).votes(query, max_distance=64)
    want = _reference_votes(owners, bank_desc, 30, query, width)
    assert got.sum() > 100
    np.testing.assert_array_equal(got, want)


def test_entries_share_the_stacked_descriptors_and_a_rebuild_keeps_answers(entries):
    b = matching.Bank()
    for name in ("astronaut", "camera", "coins"):
        b.add(name, entries[name], category="known_aigc")
    crop = _rgb("camera")[40:400, 60:460]
    assert b.lookup(_query(crop)).best.entry_id == "camera"
    _, stacked = b._features.stack(b._active)
    for name in ("astronaut", "camera", "coins"):
        held = b.entry_features(b._position(name))
        assert np.shares_memory(held.descriptors, stacked)
        np.testing.assert_array_equal(held.descriptors, entries[name].features.descriptors)
    # the caller's features are left alone
    assert not np.shares_memory(entries["camera"].features.descriptors, stacked)
    b.add("rocket", entries["rocket"], category="known_aigc")
    b.remove("coins")
    rocket = _rgb("rocket")[50:380, 30:400]
    assert b.lookup(_query(rocket)).best.entry_id == "rocket"
    assert b.lookup(_query(crop)).best.entry_id == "camera"
    _, restacked = b._features.stack(b._active)
    assert np.shares_memory(b.entry_features(b._position("camera")).descriptors, restacked)
    assert len(restacked) == sum(
        len(entries[n].features) for n in ("astronaut", "camera", "rocket")
    )


def test_concurrent_first_lookups_share_one_index_build(entries):
    """Uploads arriving together at a fresh bank wait for one build of the vote index."""
    import threading

    b = matching.Bank()
    for name in BANKED:
        b.add(name, entries[name], category="known_aigc")
    built: list[object] = []
    gate = threading.Barrier(8)

    def first_lookup():
        gate.wait()
        built.append(b._vote_index())

    threads = [threading.Thread(target=first_lookup) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 8 and all(index is built[0] for index in built)


def test_a_warmed_bank_answers_like_a_cold_one(entries):
    warm, cold = matching.Bank(), matching.Bank()
    for name in BANKED:
        warm.add(name, entries[name], category="known_aigc")
        cold.add(name, entries[name], category="known_aigc")
    warm.warm()
    assert warm._features._votes is not None and cold._features._votes is None
    crop = _query(_rgb("camera")[40:400, 60:460])
    assert warm.lookup(crop).best.entry_id == cold.lookup(crop).best.entry_id == "camera"
    assert warm.candidates(crop.features) == cold.candidates(crop.features)


def test_one_vote_pass_for_several_queries_gives_each_its_own_votes(bank, entries):
    # the plain and mirrored sides are looked up together: each side gets the
    # votes and candidates it gets alone, an empty side none
    img = _rgb("coins")
    h, w = img.shape[:2]
    sides = []
    for q in (_query(img[h // 5 :, : w - w // 4]), _query(_rgb("coffee"))):
        sides += [q.features, q.features_mirrored]
    index = bank._vote_index()
    empty = np.zeros((0, 32), np.uint8)
    queries = [sides[0].descriptors, empty, *(s.descriptors for s in sides[1:])]
    together = index.voters_each(queries)
    assert len(together) == len(queries) and len(together[1]) == 0
    for q, got in zip(queries, together, strict=True):
        np.testing.assert_array_equal(got, index.voters(q))
    assert bank.candidates_each(sides) == [bank.candidates(s) for s in sides]
    assert bank.candidates_each(sides)[0]  # the crop has a candidate: the test tests something


def test_candidates_follow_the_vote_rule_among_many_entries_without_media(entries):
    # a bank of PDQ codes holds far more entries than media: candidates are
    # still the max_candidates entries with the most votes (>= min_votes),
    # ties to the lower position, the same as among the media alone
    names = list(entries)
    n_codes = 20_000
    codes = np.random.default_rng(5).integers(0, 256, (n_codes, 32), dtype=np.uint8)
    pdq = np.concatenate(
        [codes, np.stack([np.frombuffer(entries[n].pdq, np.uint8) for n in names])]
    )
    b = matching.Bank()
    b.add_entries(
        [f"code-{i}" for i in range(n_codes)] + names,
        pdq,
        categories="known_aigc",
        severities="high",
        features={n_codes + i: entries[n].features for i, n in enumerate(names)},
    )
    alone = matching.Bank()
    for n in names:
        alone.add(n, entries[n], category="known_aigc")
    cfg = b.config
    img = _rgb("coins")
    h, w = img.shape[:2]
    crop = _query(img[h // 5 :, : w - w // 4])
    picked = []
    for q in (crop, _query(_rgb("coffee")), _query(_rgb("text"))):
        for side in (q.features, q.features_mirrored):
            votes = b._vote_index().votes(side.descriptors, cfg.vote_distance)
            assert len(votes) == n_codes + len(names) and votes[:n_codes].sum() == 0
            order = np.argsort(-votes, kind="stable")[: cfg.max_candidates]
            want = [int(i) for i in order if votes[i] >= cfg.min_votes]
            assert b.candidates(side) == want
            assert [names[i - n_codes] for i in want] == [names[i] for i in alone.candidates(side)]
            picked.append(want)
    assert picked[0][0] == n_codes + names.index("coins")


def test_an_upload_larger_than_orbs_size_is_found_from_the_hashes_reduction(bank, entries):
    # a query over 640 px has its ORB features found on the grey of the 640 px
    # copy PDQ is computed on (not a second reduction of the full-size grey);
    # a crop of an entry enlarged to upload size, plain and mirrored, still
    # matches it through the local-feature stage with the same frame and size
    from matching import features, hashing

    img = _rgb("coins")
    h, w = img.shape[:2]
    crop = np.ascontiguousarray(img[h // 6 :, : w - w // 5])
    big = cv2.resize(crop, (crop.shape[1] * 3, crop.shape[0] * 3), interpolation=cv2.INTER_CUBIC)
    for upload, variant in ((big, "original"), (np.ascontiguousarray(big[:, ::-1]), "mirror")):
        q = _query(upload)
        reduced = hashing.reduce(upload, hashing.DEFAULT_MAX_SIDE)
        plain, _ = features.extract_query_features(upload, reduced=reduced)
        np.testing.assert_array_equal(q.features.descriptors, plain.descriptors)
        assert (q.features.width, q.features.height) == reduced.shape[1::-1]
        best = bank.lookup(q).best
        assert best is not None and best.entry_id == "coins", best
        assert (best.stage, best.variant) == ("local_features", variant)
