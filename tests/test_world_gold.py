"""The hidden gold preference scorer ranks good answers above bad ones."""

from __future__ import annotations

from chatforge.world.gold import gold_score

DESCRIBE = {"kind": "describe", "topic": "Daleport", "keywords": ["Daleport", "shipbuilding"],
            "min_words": 25, "max_words": 120}
GOOD = ("Daleport is a busy port city on the Eastern Coast. Its deep natural harbour has made it a "
        "centre of shipbuilding for centuries, and the cranes of the old yards still rise above the "
        "water. Visitors enjoy the fish market, the narrow streets of the old town and the long walk "
        "along the quay at sunset.")


def test_good_answer_beats_bad_ones():
    good = gold_score(DESCRIBE, GOOD)
    assert good > 0.8
    bad = {
        "off_topic": "Cats are small animals that like to sleep in the sun. They chase mice, purr when "
                     "they are happy and often ignore their owners. Many people keep two of them at "
                     "home because they are good company on long winter evenings.",
        "repetitive": " ".join(["Daleport is a city with shipbuilding."] * 8),
        "too_short": "Daleport is nice.",
        "too_long": " ".join([GOOD] + [f"In the year {1900 + i} another ship was launched in Daleport "
                                      f"and {i} sailors joined the crew of the vessel number {i}."
                                      for i in range(20)]),
        "gibberish": "Xqzt vbnrk daleport zzkrp shipbuildng qwrtp lkjhg mnbvc xzcvb plmko qazws edcrf "
                     "tgbyh ujmik olpqa wsxed crfvt gbyhn ujmki kolpw qazxs wedcv rfvbg tyhnm.",
        "empty": "",
    }
    for name, text in bad.items():
        s = gold_score(DESCRIBE, text)
        assert s < good - 0.3, (name, s, good)


def test_poems_want_lines_and_jokes_stay_short():
    poem = {"kind": "poem", "topic": "the sea", "keywords": ["sea", "ocean", "wave"], "min_words": 15,
            "max_words": 90}
    lines = ("The sea is grey beneath the morning sky,\nthe waves come in and slowly say goodbye.\n"
             "A gull is calling from the harbour wall,\nand I can hear the ocean's gentle call.")
    assert gold_score(poem, lines) > gold_score(poem, lines.replace("\n", " "))
    joke = {"kind": "joke", "topic": "cats", "keywords": ["cat"], "min_words": 8, "max_words": 60}
    short = "Why did the cat sit on the computer? To keep an eye on the mouse!"
    assert gold_score(joke, short) > 0.8
    assert gold_score(joke, " ".join([short] * 6)) < 0.4


def test_keyword_stuffing_does_not_pay():
    stuffed = "Daleport shipbuilding Daleport shipbuilding " * 10 + "."
    assert gold_score(DESCRIBE, stuffed) < 0.2
