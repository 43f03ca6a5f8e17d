import unittest

import support  # noqa: F401  (puts the package on sys.path)
from arena_client import SseEvent, SseParser


def parse(*chunks: bytes, last_event_id: str = ""):
    parser = SseParser(last_event_id)
    events = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return parser, events


class SseParserTests(unittest.TestCase):
    def test_a_frame_with_id_event_and_data(self):
        _, events = parse(b"id: 1-0\nevent: turn_start\ndata: {\"seq\":1}\n\n")
        self.assertEqual([SseEvent("1-0", "turn_start", '{"seq":1}')], events)
        self.assertEqual({"seq": 1}, events[0].json())

    def test_multi_line_data_is_joined_with_line_feeds(self):
        _, events = parse(b"data: first\ndata:second\ndata\ndata:  indented\n\n")
        self.assertEqual("first\nsecond\n\n indented", events[0].data)
        self.assertEqual("message", events[0].event)

    def test_comments_are_skipped_and_counted(self):
        parser, events = parse(b": heartbeat\n\n:no space\ndata: x\n\n")
        self.assertEqual(["x"], [e.data for e in events])
        self.assertEqual(2, parser.comments)
        self.assertEqual("no space", parser.last_comment)

    def test_crlf_cr_and_lf_line_endings_and_a_crlf_split_between_reads(self):
        _, events = parse(b"data: a\r\n\r\ndata: b\r\rdata: c\r", b"\n\r", b"\n", b"data: d\n\n")
        self.assertEqual(["a", "b", "c", "d"], [e.data for e in events])

    def test_bytes_split_anywhere_give_the_same_events(self):
        stream = "id: 7-1\nevent: observation\ndata: {\"text\":\"h\u00e9\u00e9 \U0001f3f0\"}\n\n: hb\n\nid: 7-2\ndata: two\n\n".encode()
        _, whole = parse(stream)
        for size in range(1, 9):
            _, pieces = parse(*[stream[i:i + size] for i in range(0, len(stream), size)])
            self.assertEqual(whole, pieces, f"split every {size} bytes")
        self.assertEqual("h\u00e9\u00e9 \U0001f3f0", whole[0].json()["text"])

    def test_a_leading_byte_order_mark_is_ignored_once(self):
        _, events = parse(b"\xef\xbb\xbfdata: x\n\n")
        self.assertEqual(["x"], [e.data for e in events])
        _, events = parse(b"\xef\xbb", b"\xbfdata: y\n\n")
        self.assertEqual(["y"], [e.data for e in events])

    def test_the_id_carries_over_to_later_events_and_survives_events_without_data(self):
        parser, events = parse(b"id: 1-0\ndata: a\n\ndata: b\n\nid: 2-0\n\n")
        self.assertEqual(["1-0", "1-0"], [e.id for e in events])
        self.assertEqual("2-0", parser.last_event_id)

    def test_an_id_with_nul_is_ignored_and_an_empty_id_resets(self):
        parser, events = parse(b"id: 1-0\ndata: a\n\nid: 2\x00\ndata: b\n\nid\ndata: c\n\n")
        self.assertEqual(["1-0", "1-0", ""], [e.id for e in events])
        self.assertEqual("", parser.last_event_id)

    def test_retry_only_with_ascii_digits(self):
        parser, _ = parse(b"retry: 2000\n\n")
        self.assertEqual(2000, parser.retry)
        parser, _ = parse(b"retry: 2000\n\nretry: 1s\n\nretry: \xd9\xa1\n\n")
        self.assertEqual(2000, parser.retry)

    def test_unknown_fields_are_ignored_and_event_names_reset_after_dispatch(self):
        _, events = parse(b"foo: bar\nevent: arena.error\ndata: x\n\ndata: y\n\n")
        self.assertEqual([("arena.error", "x"), ("message", "y")], [(e.event, e.data) for e in events])

    def test_an_event_name_without_data_is_not_dispatched(self):
        _, events = parse(b"event: leaderboard\n\ndata: z\n\n")
        self.assertEqual([("message", "z")], [(e.event, e.data) for e in events])

    def test_an_unfinished_event_is_not_dispatched(self):
        _, events = parse(b"id: 3-0\ndata: complete\n\nid: 4-0\ndata: cut off")
        self.assertEqual(["complete"], [e.data for e in events])

    def test_the_resume_id_given_is_the_starting_last_event_id(self):
        _, events = parse(b"data: x\n\n", last_event_id="9-9")
        self.assertEqual("9-9", events[0].id)


if __name__ == "__main__":
    unittest.main()
