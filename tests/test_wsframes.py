"""wsframes.split_frames and frame_end: frames as a server writes them, fed as bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wstail.sources.wsframes import frame_end, judged_by_websockets, split_frames


def frame(head: int, payload: bytes, *, mask: bool = False) -> bytes:
    """One frame with the given first byte (FIN, RSV, opcode)."""
    size = len(payload)
    masked = 0x80 if mask else 0
    if size < 126:
        length = bytes([masked | size])
    elif size < 65536:
        length = bytes([masked | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([masked | 127]) + size.to_bytes(8, "big")
    return bytes([head]) + length + (b"\0\0\0\0" if mask else b"") + payload


messages = st.lists(st.one_of(st.text(max_size=300), st.binary(max_size=70_000)), max_size=8)


@given(messages)
def test_whole_frames_become_their_messages(sent: list[str | bytes]) -> None:
    """Every whole text and binary frame is taken, whatever its length form."""
    wire = b"".join(frame(0x81, m.encode()) if isinstance(m, str) else frame(0x82, m) for m in sent)
    out: list[str | bytes] = []
    assert split_frames(wire, 0, out) == (len(wire), 0)
    assert out == sent


@given(messages, st.data())
def test_an_incomplete_frame_says_what_it_needs(
    sent: list[str | bytes], data: st.DataObject
) -> None:
    """Cut anywhere, the frames before the cut are taken; the cut one waits for its size."""
    frames = [frame(0x81, m.encode()) if isinstance(m, str) else frame(0x82, m) for m in sent]
    wire = b"".join(frames)
    cut = data.draw(st.integers(0, len(wire)))
    out: list[str | bytes] = []
    pos, needed = split_frames(wire[:cut], 0, out)
    assert out == sent[: len(out)]
    assert pos == sum(len(f) for f in frames[: len(out)])
    assert (needed > 0) == (pos < cut)
    if needed:
        assert cut - pos < needed <= len(frames[len(out)])


def test_other_frames_stop_the_loop_for_websockets() -> None:
    """Fragments, control frames, masks, RSV bits and bad UTF-8 are left where they start."""
    first = frame(0x81, b"ok")
    for other in (
        frame(0x01, b"frag"),
        frame(0x89, b"ping"),
        frame(0x81, b"masked", mask=True),
        frame(0xC1, b"rsv"),
        frame(0x81, b"\xff"),
    ):
        out: list[str | bytes] = []
        assert split_frames(first + other + first, 0, out) == (len(first), 0)
        assert out == ["ok"]
        assert frame_end(first + other, len(first)) == len(first + other)


def test_which_heads_websockets_judges_one_frame_at_a_time() -> None:
    """Data and control opcodes without RSV bits; anything else fails at once."""
    assert all(judged_by_websockets(h) for h in (0x00, 0x01, 0x81, 0x82, 0x88, 0x89, 0x8A))
    assert not any(judged_by_websockets(h) for h in (0x83, 0x8B, 0xC1, 0x91, 0xA2))


def test_with_deflate_websockets_also_takes_whole_compressed_messages() -> None:
    """permessage-deflate: a compressed message in one frame (FIN, RSV1, text or binary) too;
    a compressed first fragment, RSV1 on a control frame, RSV2/RSV3 still hand everything over."""
    assert judged_by_websockets(0xC1, inflating=True)
    assert judged_by_websockets(0xC2, inflating=True)
    assert all(judged_by_websockets(h, inflating=True) for h in (0x00, 0x01, 0x81, 0x82, 0x89))
    assert not any(
        judged_by_websockets(h, inflating=True) for h in (0x41, 0x42, 0xC0, 0xC9, 0xA1, 0x91, 0xE1)
    )
    assert not judged_by_websockets(0xC1)  # without deflate an RSV1 bit is an error
