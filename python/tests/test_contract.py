"""The contract's small rules, as `src/contract/` tests them."""

from __future__ import annotations

import zlib

import pytest
from thumbs.contract import ImageError, assign_stems, parse_sizes, target_size
from thumbs.kernel import pixel_checksum


def test_colliding_names_get_distinct_stems():
    stems = assign_stems(["cat.jpg", "cat.jpg", "cat.png", "cat-2.jpg", "dog.jpeg"])
    assert stems == ["cat", "cat-2", "cat-3", "cat-2-2", "dog"]


@pytest.mark.parametrize(
    "name", ["../x.jpg", "/etc/passwd", "a\\b.jpg", "..", ".", ".hidden.jpg", ""]
)
def test_names_that_leave_the_folder_are_refused(name):
    assert isinstance(assign_stems([name])[0], ImageError)


def test_sizes_keep_order_without_repeats_and_refuse_nonsense():
    assert parse_sizes("200, 32,64,32") == (200, 32, 64)
    for bad in ["", "0", "32,abc"]:
        with pytest.raises(ValueError):
            parse_sizes(bad)


def test_thumbnails_never_upscale_and_keep_the_proportions():
    assert target_size(480, 320, 200) == (200, 133)
    assert target_size(100, 50, 200) == (100, 50)
    assert target_size(1000, 1, 32) == (32, 1)


def test_the_gil_bound_step_is_a_real_adler32():
    pixels = bytes(range(256)) * 300
    assert pixel_checksum(pixels) == zlib.adler32(pixels)
    assert pixel_checksum(b"") == zlib.adler32(b"")
