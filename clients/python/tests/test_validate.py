import json
import unittest
from pathlib import Path

import support
from arena_client import SchemaSet, validate_event
from arena_client.validate import SCHEMA_DIR, SchemaError

REPO_SCHEMAS = support.REPO_ROOT / "schemas"


def schema_files(root: Path):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.schema.json")}


class BundledSchemaTests(unittest.TestCase):
    def test_bundled_schemas_are_the_repository_schemas(self):
        repo, bundled = schema_files(REPO_SCHEMAS), schema_files(SCHEMA_DIR)
        self.assertTrue(repo, f"no schemas found under {REPO_SCHEMAS}")
        fix = ("copy them again: cp schemas/*.schema.json clients/python/arena_client/schemas/ && "
               "cp schemas/v1/*.schema.json clients/python/arena_client/schemas/v1/")
        self.assertEqual(sorted(repo), sorted(bundled), f"the bundled schema files differ from schemas/; {fix}")
        for name in repo:
            self.assertEqual(repo[name], bundled[name], f"{name} differs from schemas/{name}; {fix}")

    def test_every_keyword_of_the_schemas_is_implemented(self):
        SchemaSet.load(REPO_SCHEMAS)  # raises SchemaError on a keyword it does not know

    def test_a_schema_with_an_unknown_keyword_is_refused(self):
        with self.assertRaises(SchemaError):
            SchemaSet([{"$id": "https://x/s.json", "type": "object", "propertyNames": {"maxLength": 3}}])


class CorpusTests(unittest.TestCase):
    """schemas/corpus.json: the examples ingest's own validation is tested against."""

    @classmethod
    def setUpClass(cls):
        cls.corpus = json.loads((REPO_SCHEMAS / "corpus.json").read_text(encoding="utf-8"))

    def test_every_valid_example_is_accepted(self):
        for example in self.corpus["valid"]:
            with self.subTest(example["name"]):
                self.assertEqual([], validate_event(example["event"]))

    def test_every_invalid_example_is_refused_naming_the_field_ingest_names(self):
        # Including those marked beyond_schema: this validator follows ingest there.
        for example in self.corpus["invalid"]:
            with self.subTest(example["name"]):
                errors = validate_event(example["event"])
                self.assertTrue(errors, "accepted")
                self.assertEqual(example["field"], errors[0].field, errors)


class RuleTests(unittest.TestCase):
    def event(self, **fields):
        base = {"event_id": "r:1", "run_id": "r", "seq": 1, "type": "turn_start", "schema_version": 1,
                "ts": "2026-11-23T10:00:00.123Z", "payload": {"turn": 0, "player_id": "p1"}}
        base.update(fields)
        return base

    def test_integers_are_python_ints_not_bools_or_floats(self):
        self.assertEqual([], validate_event(self.event(seq=2 ** 63 - 1)))
        self.assertEqual(["seq"], [e.field for e in validate_event(self.event(seq=True))])
        self.assertEqual(["seq"], [e.field for e in validate_event(self.event(seq=2.0))])
        self.assertEqual(["seq"], [e.field for e in validate_event(self.event(seq=2 ** 63))])

    def test_numbers_must_be_finite(self):
        payload = {"turn": 1, "player_id": "p1", "model": "m", "prompt_tokens": 1, "completion_tokens": 1}
        ok = self.event(type="llm_response", payload=dict(payload, latency_ms=1.5))
        self.assertEqual([], validate_event(ok))
        bad = self.event(type="llm_response", payload=dict(payload, latency_ms=float("inf")))
        self.assertEqual(["payload.latency_ms"], [e.field for e in validate_event(bad)])

    def test_lengths_count_code_points(self):
        self.assertEqual([], validate_event(self.event(payload={"turn": 0, "player_id": "\U0001f3f0" * 128})))

    def test_unknown_types_and_newer_versions_are_checked_on_the_envelope_alone(self):
        self.assertEqual([], validate_event(self.event(type="chat_message", payload={"anything": [1]})))
        self.assertEqual([], validate_event(self.event(schema_version=2, payload={"turn": "later"})))

    def test_date_times_as_ingest_reads_them(self):
        for ts in ("2026-11-23T10:00:00Z", "2026-11-23t10:00:00.123456789z", "2024-02-29T00:00:00+05:30",
                   "1998-12-31T23:59:60Z", "1999-01-01T00:59:60+01:00", "9999-12-31T23:59:59Z"):
            with self.subTest(ts):
                self.assertEqual([], validate_event(self.event(ts=ts)))
        for ts in ("2026-11-23T10:00:00", "2026-11-31T10:00:00Z", "1998-12-31T23:58:60Z",
                   "9999-12-31T23:59:59-00:01", "2026-11-23T10:00:00Z "):
            with self.subTest(ts):
                self.assertEqual(["ts"], [e.field for e in validate_event(self.event(ts=ts))])


if __name__ == "__main__":
    unittest.main()
