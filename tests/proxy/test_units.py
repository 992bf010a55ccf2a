"""Pure functions of the proxy: RESP splitting, slicer bounds, attribute validation."""

from __future__ import annotations

import random

import pytest

from chaos.proxy.model import ApiError, new_toxic, parse_attributes, redis_error_reply
from chaos.proxy.resp import RespProtocolError, bulk_reply, encode_command, split_command
from chaos.proxy.toxics import _prefix_overlap, slice_bounds


def test_split_command_finds_whole_multibulk_commands() -> None:
    stream = encode_command(b"SET", b"k", b"v\r\n") + encode_command(b"lpush", b"q", b"x")
    first = split_command(stream)
    assert first is not None and first[1] == b"SET"
    second = split_command(stream, first[0])
    assert second == (len(stream), b"LPUSH")
    assert split_command(stream, second[0]) is None


@pytest.mark.parametrize("cut", range(1, 30))
def test_split_command_waits_for_a_partial_command(cut: int) -> None:
    whole = encode_command(b"RPUSH", b"queue", b"payload")
    assert cut < len(whole)
    assert split_command(whole[:cut]) is None


def test_split_command_reads_inline_commands() -> None:
    assert split_command(b"ping\r\n") == (6, b"PING")
    assert split_command(b"PING") is None


def test_split_command_rejects_garbage() -> None:
    with pytest.raises(RespProtocolError):
        split_command(b"*x\r\n")
    with pytest.raises(RespProtocolError):
        split_command(b"*1\r\n+no\r\n")


def test_bulk_reply_is_what_echo_answers() -> None:
    assert bulk_reply(b"abc") == b"$3\r\nabc\r\n"


@pytest.mark.parametrize(("size", "average", "variation"), [(1000, 64, 16), (7, 1, 0), (0, 5, 0)])
def test_slice_bounds_cover_the_chunk_in_order(size: int, average: int, variation: int) -> None:
    bounds = slice_bounds(size, average, variation, random.Random(1).randrange)
    assert [start for start, _ in bounds] == ([0] if bounds else []) + [e for _, e in bounds[:-1]]
    assert (bounds[-1][1] if bounds else 0) == size
    assert all(end - start <= max(average + variation, 1) for start, end in bounds)


def test_prefix_overlap_holds_back_only_a_possible_marker_start() -> None:
    assert _prefix_overlap(b"+OK\r\n$2", b"$24\r\nmarker") == 2
    assert _prefix_overlap(b"+OK\r\n", b"$24\r\nmarker") == 0


def test_attributes_merge_and_validate() -> None:
    merged = parse_attributes("latency", {"jitter": 5, "unknown": "ignored"}, {"latency": 9})
    assert merged == {"latency": 9, "jitter": 5}
    with pytest.raises(ApiError, match="attribute 'rate' of bandwidth"):
        parse_attributes("bandwidth", {"rate": -1})


def test_redis_error_names_expand_to_redis_messages() -> None:
    assert redis_error_reply("oom").startswith(b"-OOM command not allowed")
    assert redis_error_reply("ERR custom") == b"-ERR custom\r\n"


def test_new_toxic_defaults() -> None:
    toxic = new_toxic({"type": "redis_error"}, set())
    assert (toxic.name, toxic.stream, toxic.toxicity) == ("redis_error_upstream", "upstream", 1.0)
    with pytest.raises(ApiError) as taken:
        new_toxic({"type": "latency"}, {"latency_downstream"})
    assert taken.value.status == 409
