"""The schema-drift gate's field list is tied to the code: every record field the flattener and
the text builders read is listed in data/required_fields.txt, and nothing listed goes unread."""

from __future__ import annotations

from typing import Any

import pytest
from fakeapi import default_metadata

from trialtrends.extract.raw import _last_update
from trialtrends.transform.flatten import Rows, flatten_studies
from trialtrends.transform.normalize import build_tables
from trialtrends.transform.study_text import text_row
from trialtrends.validate.gates import metadata_paths, required_fields


class Recording(dict):
    """A dict that records the dotted path of every leaf value read from it."""

    def __init__(self, data: dict, path: str, seen: set[str]) -> None:
        super().__init__(data)
        self._path, self._seen = path, seen

    def _wrap(self, key: str, value: Any) -> Any:
        path = f"{self._path}.{key}" if self._path else key
        if isinstance(value, dict):
            return Recording(value, path, self._seen)
        if isinstance(value, list):
            if not value or not isinstance(value[0], dict):
                self._seen.add(path)
            return [Recording(v, path, self._seen) if isinstance(v, dict) else v for v in value]
        self._seen.add(path)
        return value

    def __getitem__(self, key: str) -> Any:
        return self._wrap(key, super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        return default


def fields_read(records: list[dict]) -> set[str]:
    seen: set[str] = set()
    wrapped = [Recording(r, "", seen) for r in records]
    build_tables(flatten_studies(iter(wrapped), "run", Rows()))
    for record in wrapped:
        text_row(record)
        _last_update(record)
    return seen


def as_metadata_fields(paths: set[str]) -> set[str]:
    """Each path read, as the field of the API's metadata tree that holds it (a structured leaf
    such as geoPoint is one field there, although the record spells out geoPoint.lat)."""
    known = metadata_paths(default_metadata())
    fields = set()
    for path in paths:
        parts = path.split(".")
        fields.add(
            next(
                (".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in known), path
            )
        )
    return fields


@pytest.fixture(scope="module")
def read_paths(corpus_studies: list[dict]) -> set[str]:
    # The 64 full records carry every module; the corpus adds the cell-therapy shapes.
    return as_metadata_fields(fields_read(corpus_studies[-64:] + corpus_studies[:200]))


def test_every_field_read_is_listed(read_paths):
    listed = set(required_fields())
    unlisted = sorted(p for p in read_paths if p not in listed)
    assert unlisted == [], f"add to data/required_fields.txt: {unlisted}"


def test_every_listed_field_is_read(read_paths):
    stale = sorted(f for f in required_fields() if f not in read_paths)
    assert stale == [], f"listed in data/required_fields.txt but never read: {stale}"
