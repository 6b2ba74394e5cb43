"""The catalog's small answers: the near message type a push meant, and which route patterns are plain paths."""

from __future__ import annotations

from q2ext import catalog


def test_same_letters_in_another_case_is_the_near_type():
    assert catalog.near("lowercase", ["Uppercase", "Lowercase"]) == "Lowercase"


def test_a_different_word_is_not_suggested_however_alike():
    assert catalog.near("Uppercase", ["Lowercase"]) is None


def test_a_route_with_a_group_has_no_plain_path():
    assert catalog.literal_path(r"/Item/(\d+)/?$") is None


def test_an_optional_trailing_slash_is_left_out_of_the_plain_path():
    assert catalog.literal_path("/AllCaps/?$") == "/AllCaps"
