"""A fake ClinicalTrials.gov API v2 server on 127.0.0.1 for the trialtrends tests.

Standard library only (http.server). It emulates exactly what the trialtrends client sends
(`extract/client.py`, `extract/searches.py`), shaped as the OpenAPI document (ctg-oas-v2.yaml,
2.0.5) and ../shared/API-NOTES.md say: `/version`, `/studies/metadata`, and `/studies` with
`query.term`, `filter.advanced`, `format=json`, `pageSize` (cut to 1000), `countTotal` (first
page only) and opaque `pageToken`s bound to the other parameters and to the data generation;
and, for registry mode, `/studies/download?format=json.zip` (the whole registry as a zip, see
tests/fakeapi_download.py; strong ETag, single byte ranges, If-Range) and `/stats/size`.
Errors are text/plain. A parameter or endpoint the spec defines but the fake does not emulate
is a 400/404 saying "not emulated by the fake", so a client change that starts sending it fails
loudly instead of testing against invented behaviour. Tests arm faults (429, 5xx, HTML,
truncated, slow, hang, reset; for the download: gone, cut, no_range, truncated_zip, partial_zip)
and data quirks (stray token after an exactly full last page, a study repeated across pages, a
data refresh mid-crawl) at run time, and move the registry from one day to the next
(`advance_day`: changed, added and removed studies, a new data generation).

Essie decisions (documented here because the real engine is not reachable):
- `AND`/`OR`/`NOT` only in UPPERCASE; adjacent terms are ANDed; precedence NOT > AND > OR;
  parentheses group.
- `query.term` searches the BasicSearch area (titles, acronym, summary, conditions, keywords,
  interventions and other names, outcomes, sponsors, ids). Matching is per word,
  case-insensitive; any non-word character splits words, so "CAR-T", "CAR T" and "car-t" are the
  same two words; a bare "CAR-T" or a quoted phrase needs them adjacent (within one field
  value), bare `CAR T` only needs both words somewhere. "CART" is one different word.
- Plural relaxation: cell ~ cells, therapy ~ therapies, lymphoma ~ lymphomas (no synonyms).
- `AREA[DateField]RANGE[a,b]` (a date field of the data model, e.g. LastUpdatePostDate) compares
  partial dates by their first day (2022-03 -> 2022-03-01); a partial upper bound covers its whole
  period (RANGE[2022,2022] is the whole year); MIN/MAX are open ends; a study lacking the field
  never matches. Other operators (EXPANSION, COVERAGE, MISSING, AREA on other fields...) are a
  400 "not emulated by the fake".
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import select
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

if __package__:
    from . import fakeapi_download as download
    from .openapi_spec import load_spec, ref_name, resolve
else:  # tests/ is on sys.path (pytest rootdir-relative import), not a package
    import fakeapi_download as download
    from openapi_spec import load_spec, ref_name, resolve

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "fakeapi"
BASE_PATH = "/api/v2"
DEFAULT_PAGE_SIZE = 10  # spec: pageSize "If not specified or set to 0, the default value" (10)

# Exactly the query parameter names the spec defines per operation (a test checks this):
# anything else is "unknown parameter" (the live API's wording), these are "not emulated".
SPEC_STUDIES_PARAMS = frozenset(
    {
        "format", "markupFormat", "query.cond", "query.term", "query.locn", "query.titles",
        "query.intr", "query.outc", "query.spons", "query.lead", "query.id", "query.patient",
        "filter.overallStatus", "filter.geo", "filter.ids", "filter.advanced", "filter.synonyms",
        "postFilter.overallStatus", "postFilter.geo", "postFilter.ids", "postFilter.advanced",
        "postFilter.synonyms", "aggFilters", "geoDecay", "fields", "sort", "countTotal",
        "pageSize", "pageToken",
    }
)  # fmt: skip
SPEC_METADATA_PARAMS = frozenset({"includeIndexedOnly", "includeHistoricOnly"})
# What the client sends to /studies (extract/searches.py, client.paginate), and so emulated.
STUDIES_PARAMS = frozenset({"query.term", "filter.advanced", "format", "pageSize", "countTotal", "pageToken"})
# Spec: "every other parameter must be repeated unchanged" except these three.
_PAGING_PARAMS = frozenset({"countTotal", "pageSize", "pageToken"})
NOT_EMULATED = "not emulated by the fake"
# /studies/download is not in the OpenAPI document; its formats are those /studies' `format`
# describes. Only json.zip (the whole registry, API-NOTES) is emulated, with no search params.
DOWNLOAD_PARAMS = frozenset({"format"})
DOWNLOAD_FORMATS = frozenset({"csv", "json", "json.zip", "fhir.json", "ris"})


# --------------------------------------------------------------------------- shared material


def shared_ctgov_dir() -> Path:
    """The shared ctgov folder: $TRIALTRENDS_SHARED_CTGOV or <repo>/../shared/ctgov."""
    env = os.environ.get("TRIALTRENDS_SHARED_CTGOV")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "ctgov"


def shared_spec_path(base: Path | None = None) -> Path:
    """Path of the OpenAPI document inside the shared folder (may not exist)."""
    return (base or shared_ctgov_dir()) / "openapi" / "ctg-oas-v2.yaml"


def load_shared_corpus(base: Path | None = None) -> list[dict]:
    """The 2,587-study cell therapy corpus (JSON lines, gzip); FileNotFoundError when absent."""
    path = (base or shared_ctgov_dir()) / "corpus" / "celltherapy-2026-08.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_fixture_studies(name: str = "studies.json") -> list[dict]:
    """Small hand-written studies from tests/fixtures/fakeapi/."""
    return json.loads((FIXTURE_DIR / name).read_text(encoding="utf-8"))


def nct_id_of(study: dict) -> str | None:
    """`protocolSection.identificationModule.nctId` of a study, if present."""
    ident = study.get("protocolSection", {}).get("identificationModule", {})
    return ident.get("nctId")


# --------------------------------------------------------------------------- text matching

_WORD = re.compile(r"\w+")
_SEPARATOR = "\x00"  # between field values, so a phrase never spans two values


def words(text: str) -> list[str]:
    """Lowercased word tokens; any non-word character (hyphen, slash, space) separates words."""
    return _WORD.findall(text.lower())


def word_variants(word: str) -> frozenset[str]:
    """Singular/plural forms of a word (Essie's default Relaxation: cell ~ cells)."""
    if word.isdigit():
        return frozenset({word})
    out = {word, word + "s", word + "es"}
    if word.endswith("s"):
        out.add(word[:-1])
    if word.endswith("es"):
        out.add(word[:-2])
    if word.endswith("ies"):
        out.add(word[:-3] + "y")
    if word.endswith("y"):
        out.add(word[:-1] + "ies")
    return frozenset(out)


class TextIndex:
    """Word positions of one study's searchable text (built once, then only read)."""

    __slots__ = ("positions", "tokens")

    def __init__(self, values: Iterable[str]) -> None:
        tokens: list[str] = []
        for value in values:
            if tokens:
                tokens.append(_SEPARATOR)
            tokens.extend(words(value))
        positions: dict[str, list[int]] = {}
        for i, token in enumerate(tokens):
            positions.setdefault(token, []).append(i)
        self.tokens = tokens
        self.positions = positions

    def has_phrase(self, seq: tuple[frozenset[str], ...]) -> bool:
        """True if the word sequence (each a set of variants) occurs adjacently."""
        if len(seq) == 1:
            return any(v in self.positions for v in seq[0])
        tokens, k = self.tokens, len(seq)
        for variant in seq[0]:
            for p in self.positions.get(variant, ()):
                if p + k <= len(tokens) and all(tokens[p + j] in seq[j] for j in range(1, k)):
                    return True
        return False


def extract(obj: Any, path: tuple[str, ...]) -> list[Any]:
    """Values at a dotted path, flattening lists on the way (locations.country -> all)."""
    current = [obj]
    for key in path:
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict) and key in item:
                value = item[key]
                nxt.extend(value if isinstance(value, list) else [value])
        current = nxt
    return [v for v in current if v is not None and v != ""]


# The BasicSearch area that query.term searches (API-NOTES "Search"; NLM search-area docs).
_P = "protocolSection."
_BASIC_SEARCH = tuple(
    tuple(path.split("."))
    for path in (
        _P + "identificationModule.briefTitle",
        _P + "identificationModule.officialTitle",
        _P + "identificationModule.acronym",
        _P + "identificationModule.nctId",
        _P + "identificationModule.nctIdAliases",
        _P + "identificationModule.orgStudyIdInfo.id",
        _P + "identificationModule.secondaryIdInfos.id",
        _P + "descriptionModule.briefSummary",
        _P + "descriptionModule.detailedDescription",
        _P + "conditionsModule.conditions",
        _P + "conditionsModule.keywords",
        "derivedSection.conditionBrowseModule.meshes.term",
        _P + "armsInterventionsModule.interventions.name",
        _P + "armsInterventionsModule.interventions.otherNames",
        _P + "armsInterventionsModule.interventions.description",
        _P + "armsInterventionsModule.armGroups.label",
        _P + "armsInterventionsModule.armGroups.description",
        _P + "armsInterventionsModule.armGroups.interventionNames",
        "derivedSection.interventionBrowseModule.meshes.term",
        *(
            f"{_P}outcomesModule.{kind}Outcomes.{part}"
            for kind in ("primary", "secondary", "other")
            for part in ("measure", "description")
        ),
        _P + "sponsorCollaboratorsModule.leadSponsor.name",
        _P + "sponsorCollaboratorsModule.collaborators.name",
    )
)


def _basic_text(study: dict) -> TextIndex:
    """Word index of a study's BasicSearch text."""
    return TextIndex(str(v) for path in _BASIC_SEARCH for v in extract(study, path) if isinstance(v, str))


# --------------------------------------------------------------------------- field tree


@dataclass(frozen=True)
class _Shape:
    """One node of the study data model, before it becomes a FieldNode."""

    type: str
    source: str  # FieldNode.sourceType: STRUCT, TEXT, ENUM, DATE, NUMERIC, BOOLEAN, GEO_POINT
    is_list: bool = False
    children: tuple[tuple[str, _Shape], ...] = ()


@dataclass(frozen=True)
class FieldInfo:
    """A field of the served data model: piece name, JSON path and source type."""

    piece: str
    path: tuple[str, ...]
    source: str


_DATE_STRUCT = {"date": "PartialDate", "type": "enum:DateType"}
_POST_DATE_STRUCT = {"date": "date", "type": "enum:DateType"}
_OUTCOME = [{"measure": "text", "description": "text", "timeFrame": "text"}]
_MESH = [{"id": "text", "term": "text"}]
# Fallback data model when the OpenAPI document is absent: protocolSection modules a client
# reads, plus the derived MeSH/removedCountries pieces. Leaves are FieldNode types.
_BUILTIN_MODEL: dict[str, Any] = {
    "protocolSection": {
        "identificationModule": {
            "nctId": "nct", "nctIdAliases": ["nct"], "orgStudyIdInfo": {"id": "text"},
            "secondaryIdInfos": [{"id": "text", "type": "enum:SecondaryIdType", "domain": "text"}],
            "briefTitle": "text", "officialTitle": "text", "acronym": "text",
            "organization": {"fullName": "text", "class": "enum:AgencyClass"},
        },
        "statusModule": {
            "overallStatus": "enum:Status", "startDateStruct": _DATE_STRUCT,
            "primaryCompletionDateStruct": _DATE_STRUCT, "completionDateStruct": _DATE_STRUCT,
            "studyFirstSubmitDate": "date", "studyFirstPostDateStruct": _POST_DATE_STRUCT,
            "lastUpdateSubmitDate": "date", "lastUpdatePostDateStruct": _POST_DATE_STRUCT,
        },
        "sponsorCollaboratorsModule": {
            "leadSponsor": {"name": "text", "class": "enum:AgencyClass"},
            "collaborators": [{"name": "text", "class": "enum:AgencyClass"}],
        },
        "descriptionModule": {"briefSummary": "text", "detailedDescription": "text"},
        "conditionsModule": {"conditions": ["text"], "keywords": ["text"]},
        "designModule": {
            "studyType": "enum:StudyType", "phases": ["enum:Phase"],
            "enrollmentInfo": {"count": "integer", "type": "enum:EnrollmentType"},
        },
        "armsInterventionsModule": {
            "armGroups": [{"label": "text", "type": "enum:ArmGroupType", "description": "text",
                           "interventionNames": ["text"]}],
            "interventions": [{"type": "enum:InterventionType", "name": "text",
                               "description": "text", "armGroupLabels": ["text"],
                               "otherNames": ["text"]}],
        },
        "outcomesModule": {
            "primaryOutcomes": _OUTCOME, "secondaryOutcomes": _OUTCOME, "otherOutcomes": _OUTCOME,
        },
        "eligibilityModule": {
            "eligibilityCriteria": "text", "healthyVolunteers": "boolean", "sex": "enum:Sex",
            "minimumAge": "text", "maximumAge": "text", "stdAges": ["enum:StandardAge"],
        },
        "contactsLocationsModule": {
            "locations": [{"facility": "text", "status": "enum:RecruitmentStatus",
                           "city": "text", "state": "text", "zip": "text", "country": "text",
                           "geoPoint": "GeoPoint"}],
        },
    },
    "derivedSection": {
        "miscInfoModule": {"removedCountries": ["text"]},
        "conditionBrowseModule": {"meshes": _MESH, "ancestors": _MESH},
        "interventionBrowseModule": {"meshes": _MESH, "ancestors": _MESH},
    },
    "hasResults": "boolean",
}  # fmt: skip


def _leaf_shape(type_name: str) -> _Shape:
    """Shape of a leaf given its FieldNode type ("enum:Status", "date", "text"...)."""
    if type_name.startswith("enum:"):
        return _Shape(type_name[5:], "ENUM")
    source = {
        "date": "DATE", "PartialDate": "DATE", "integer": "NUMERIC", "number": "NUMERIC",
        "boolean": "BOOLEAN", "GeoPoint": "GEO_POINT",
    }.get(type_name, "TEXT")  # fmt: skip
    return _Shape(type_name, source)


def _shape_from_literal(name: str, value: Any) -> _Shape:
    """Shape of the built-in model literal (dict = struct, [x] = list of x, str = leaf)."""
    if isinstance(value, list):
        return replace(_shape_from_literal(name, value[0]), is_list=True)
    if isinstance(value, dict):
        children = tuple((k, _shape_from_literal(k, v)) for k, v in value.items())
        return _Shape(name[0].upper() + name[1:], "STRUCT", children=children)
    return _leaf_shape(value)


def _shape_from_schema(spec: dict, schema: Any, depth: int = 0) -> _Shape:
    """Shape of an OpenAPI schema node, following $ref (type = the referenced schema's name)."""
    name = ref_name(schema)
    node = resolve(spec, schema)
    if node.get("type") == "array":
        return replace(_shape_from_schema(spec, node.get("items", {}), depth), is_list=True)
    if name == "GeoPoint":  # the API treats lat/lon as one GEO_POINT leaf
        return _Shape("GeoPoint", "GEO_POINT")
    if "properties" in node:
        if depth > 12:  # the Study schema is not recursive; this only guards against loops
            return _Shape(name or "object", "STRUCT")
        children = tuple(
            (key, _shape_from_schema(spec, sub, depth + 1)) for key, sub in node["properties"].items()
        )
        return _Shape(name or "object", "STRUCT", children=children)
    if "enum" in node:
        return _Shape(name or "enum", "ENUM")
    kind, fmt = node.get("type", "string"), node.get("format")
    if name == "PartialDate" or fmt == "date":
        return _Shape(name or "date", "DATE")
    if kind in ("integer", "number"):
        return _Shape(kind, "NUMERIC")
    if kind == "boolean":
        return _Shape("boolean", "BOOLEAN")
    if kind == "object":
        return _Shape(name or "object", "STRUCT")
    return _Shape(name or "text", "TEXT")


def _cap(name: str) -> str:
    """camelCase -> PascalCase, with the API's NCT spelling (nctId -> NCTId)."""
    out = name[:1].upper() + name[1:]
    return "NCT" + out[3:] if out.startswith("Nct") else out


def _singular(name: str) -> str:
    """Singular of a list field name (conditions -> condition, nctIdAliases -> nctIdAlias)."""
    for plural, single in (("Aliases", "Alias"), ("Leaves", "Leaf"), ("ies", "y")):
        if name.endswith(plural):
            return name[: -len(plural)] + single
    if name.endswith(("shes", "ches", "sses", "xes")):
        return name[:-2]
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _strip_suffix(piece: str, suffixes: tuple[str, ...]) -> str:
    """Drop the first matching suffix (StartDateStruct -> StartDate)."""
    for suffix in suffixes:
        if piece.endswith(suffix) and len(piece) > len(suffix):
            return piece[: -len(suffix)]
    return piece


def _child_prefix(name: str, piece: str) -> str | None:
    """Piece prefix for children: none under sections/modules, else the parent's piece.

    Mirrors the API's piece names: leadSponsor.name -> LeadSponsorName, startDateStruct.date ->
    StartDate, enrollmentInfo.count -> EnrollmentCount, conditionBrowseModule.meshes.term ->
    ConditionMeshTerm.
    """
    if name.endswith("BrowseModule"):
        return _cap(name[: -len("BrowseModule")])
    if name.endswith(("Section", "Module")):
        return None
    return _strip_suffix(piece, ("Struct", "Info"))


def _field_nodes(
    children: tuple[tuple[str, _Shape], ...], prefix: str | None, parent: str, seen: set[str]
) -> list[dict]:
    """FieldNode dicts (spec schema FieldNode) for one level of the data model."""
    nodes = []
    for name, shape in children:
        base = _cap(_singular(name) if shape.is_list else name)
        piece = base if prefix is None else prefix if prefix.endswith(base) else prefix + base
        if piece in seen:  # disambiguate like the API does (FlowGroup, BaselineGroup...)
            piece = _strip_suffix(parent, ("Module", "Section")) + base
        while piece in seen:
            piece += "_"
        seen.add(piece)
        node: dict[str, Any] = {
            "name": name,
            "piece": piece,
            "sourceType": shape.source,
            "type": shape.type + ("[]" if shape.is_list else ""),
        }
        if shape.source == "ENUM":
            node["isEnum"] = True
        if shape.children:
            if shape.is_list:
                node["nested"] = True
            node["children"] = _field_nodes(shape.children, _child_prefix(name, piece), piece, seen)
        nodes.append(node)
    return nodes


def builtin_metadata() -> list[dict]:
    """The small built-in /studies/metadata field tree (used when the spec is absent)."""
    return json.loads(_builtin_metadata_json())


@lru_cache(maxsize=1)
def _builtin_metadata_json() -> str:
    """Encoded built-in field tree (cached; callers get fresh copies)."""
    shape = _shape_from_literal("study", _BUILTIN_MODEL)
    return json.dumps(_field_nodes(shape.children, None, "Study", set()))


def metadata_from_spec(spec_file: str | Path) -> list[dict]:
    """A /studies/metadata field tree generated by walking the spec's Study schema."""
    return json.loads(_spec_metadata_json(str(spec_file)))


@lru_cache(maxsize=4)
def _spec_metadata_json(spec_file: str) -> str:
    """Encoded spec-derived field tree (cached per path; callers get fresh copies)."""
    spec = load_spec(spec_file)
    shape = _shape_from_schema(spec, {"$ref": "#/components/schemas/Study"})
    return json.dumps(_field_nodes(shape.children, None, "Study", set()))


def default_metadata(spec_file: str | Path | None = None) -> list[dict]:
    """Spec-derived field tree when the OpenAPI document exists, else the built-in one."""
    path = Path(spec_file) if spec_file else shared_spec_path()
    return metadata_from_spec(path) if path.is_file() else builtin_metadata()


def field_map(nodes: list[dict]) -> dict[str, FieldInfo]:
    """Fields by lowercased piece name and by lowercased dotted path (tolerates odd trees)."""
    out: dict[str, FieldInfo] = {}

    def walk(items: Any, path: tuple[str, ...]) -> None:
        for node in items if isinstance(items, list) else []:
            if not isinstance(node, dict) or not isinstance(node.get("name"), str):
                continue
            here = (*path, node["name"])
            info = FieldInfo(str(node.get("piece", node["name"])), here, node.get("sourceType", ""))
            out.setdefault(info.piece.lower(), info)
            out.setdefault(".".join(here).lower(), info)
            walk(node.get("children"), here)

    walk(nodes, ())
    return out


# --------------------------------------------------------------------------- Essie expressions


class EssieError(ValueError):
    """A malformed or not emulated search expression (the API answers 400)."""


class _Node:
    """A compiled predicate over one study of a dataset."""

    def match(self, ds: _Dataset, i: int) -> bool:  # pragma: no cover - interface
        """True if study i matches."""
        raise NotImplementedError


@dataclass
class _All(_Node):
    def match(self, ds: _Dataset, i: int) -> bool:
        return True


@dataclass
class _Term(_Node):
    seq: tuple[frozenset[str], ...]

    def match(self, ds: _Dataset, i: int) -> bool:
        return ds.text(i).has_phrase(self.seq)


@dataclass
class _DateRange(_Node):
    path: tuple[str, ...]
    low: str | None
    high: str | None

    def match(self, ds: _Dataset, i: int) -> bool:
        # A study lacking the field has no dates, so RANGE never matches it (API-NOTES).
        return any(
            (self.low is None or self.low <= v) and (self.high is None or v <= self.high)
            for v in ds.dates(self.path)[i]
        )


@dataclass
class _And(_Node):
    parts: list[_Node]

    def match(self, ds: _Dataset, i: int) -> bool:
        return all(p.match(ds, i) for p in self.parts)


@dataclass
class _Or(_Node):
    parts: list[_Node]

    def match(self, ds: _Dataset, i: int) -> bool:
        return any(p.match(ds, i) for p in self.parts)


@dataclass
class _Not(_Node):
    part: _Node

    def match(self, ds: _Dataset, i: int) -> bool:
        return not self.part.match(ds, i)


_OPERATOR = re.compile(r"([A-Z][A-Z_]*)\[([^\]]*)\]")
_AREA_RANGE = re.compile(r"^AREA\[([^\]]*)\]RANGE\[([^\]]*)\]$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _lex(expr: str) -> list[tuple[str, ...]]:
    """Tokens: ("(",), (")",), ("AND",), ("OR",), ("NOT",), ("RANGE", field, arg), ("TERM", text)."""
    out: list[tuple[str, ...]] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append((c,))
            i += 1
        elif c == '"':
            end = expr.find('"', i + 1)
            if end < 0:
                raise EssieError("unterminated quoted phrase")
            out.append(("TERM", expr[i + 1 : end]))
            i = end + 1
        else:
            j = i
            while j < n and not expr[j].isspace() and expr[j] not in '()"':
                if expr[j] == "[":  # brackets may hold spaces: RANGE[2024-01-01, MAX]
                    k = expr.find("]", j)
                    if k < 0:
                        raise EssieError("unclosed [")
                    j = k
                j += 1
            out.append(_chunk(expr[i:j]))
            i = j
    return out


def _chunk(chunk: str) -> tuple[str, ...]:
    """One bare chunk: an operator word, AREA[Field]RANGE[a,b], or a term."""
    if chunk in ("AND", "OR", "NOT"):
        return (chunk,)
    m = _AREA_RANGE.match(chunk)
    if m:
        return ("RANGE", m.group(1).strip(), m.group(2))
    op = _OPERATOR.match(chunk)
    if op:
        raise EssieError(f"{op.group(0)} is {NOT_EMULATED} (only AREA[DateField]RANGE[...])")
    return ("TERM", chunk)


class _Parser:
    """Recursive descent over Essie tokens: or := and (OR and)*; and := unary (AND? unary)*."""

    def __init__(self, tokens: list[tuple[str, ...]], fields: dict[str, FieldInfo]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields

    def peek(self) -> tuple[str, ...] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, ...]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> _Node:
        """The whole expression (empty = every study)."""
        if not self.tokens:
            return _All()
        node = self.parse_or()
        leftover = self.peek()
        if leftover is not None:
            raise EssieError(f"unexpected {leftover[0]!r}")
        return node

    def parse_or(self) -> _Node:
        parts = [self.parse_and()]
        while self.peek() == ("OR",):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else _Or(parts)

    def parse_and(self) -> _Node:
        """Explicit AND or adjacency (implicit AND)."""
        parts = [self.parse_unary()]
        while self.peek() not in (None, ("OR",), (")",)):
            if self.peek() == ("AND",):
                self.take()
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else _And(parts)

    def parse_unary(self) -> _Node:
        if self.peek() == ("NOT",):
            self.take()
            return _Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> _Node:
        """A group, a term or phrase, or AREA[DateField]RANGE[a,b]."""
        token = self.peek()
        if token is None:
            raise EssieError("expression ends where a term was expected")
        self.take()
        if token == ("(",):
            node = self.parse_or()
            if self.peek() != (")",):
                raise EssieError("missing )")
            self.take()
            return node
        if token[0] == "TERM":
            tokens = words(token[1])
            return _Term(tuple(word_variants(w) for w in tokens)) if tokens else _All()
        if token[0] == "RANGE":
            return self.date_range(token[1], token[2])
        raise EssieError(f"unexpected {token[0]!r}")

    def date_range(self, name: str, arg: str) -> _Node:
        info = self.fields.get(name.lower())
        if info is None:
            raise EssieError(f"unknown field AREA[{name}]")
        if info.source != "DATE":
            raise EssieError(f"AREA[{name}]RANGE on a {info.source} field is {NOT_EMULATED} (dates only)")
        bounds = [b.strip() for b in arg.split(",")]
        if len(bounds) != 2:
            raise EssieError(f"RANGE[{arg}] needs two bounds")
        low, high = (_date_bound(b, open_word) for b, open_word in zip(bounds, ("MIN", "MAX"), strict=True))
        return _DateRange(info.path, low, high)


def _date_bound(value: str, open_word: str) -> str | None:
    """One RANGE bound as a comparable yyyy-MM-dd (None for MIN/MAX)."""
    if value.upper() == open_word:
        return None
    if not _PARTIAL_DATE.match(value):
        raise EssieError(f"bad date {value!r} in RANGE (yyyy, yyyy-MM or yyyy-MM-dd, or {open_word})")
    return _date_key(value, upper=open_word == "MAX")


def _date_key(value: str, *, upper: bool = False) -> str:
    """A partial date as yyyy-MM-dd: first day of its period, or last day for an upper bound."""
    parts = value.split("-")
    if len(parts) == 1:
        return f"{parts[0]}-12-31" if upper else f"{parts[0]}-01-01"
    if len(parts) == 2:
        return f"{value}-31" if upper else f"{value}-01"  # string order: -31 >= any real day
    return value


def compile_expression(expr: str, fields: dict[str, FieldInfo]) -> _Node:
    """Compile an Essie expression; raises EssieError."""
    return _Parser(_lex(expr), fields).parse()


# --------------------------------------------------------------------------- served data


class _Dataset:
    """One immutable generation of served studies, sorted by nctId, with lazy indexes."""

    def __init__(
        self, studies: Iterable[dict], generation: int, data_timestamp: str, previous: _Dataset | None = None
    ) -> None:
        pairs = []
        for study in studies:
            nct = nct_id_of(study)
            if not nct:
                raise ValueError("every study needs protocolSection.identificationModule.nctId")
            pairs.append((nct, study))
        pairs.sort(key=lambda pair: pair[0])  # stable order: the fake pages by nctId
        self.generation = generation
        self.data_timestamp = data_timestamp  # dates the download's entries
        self.ids = [nct for nct, _ in pairs]
        self.studies = [study for _, study in pairs]
        self._encoded: list[bytes | None] = [None] * len(self.ids)
        self._pretty: list[bytes | None] = [None] * len(self.ids)
        self._text: list[TextIndex | None] = [None] * len(self.ids)
        self._dates: dict[tuple[str, ...], list[list[str]]] = {}
        self._build_lock = threading.Lock()
        self._zip: tuple[bytes, str] | None = None
        self._stats: bytes | None = None
        if previous is not None:
            self._reuse(previous)

    def _reuse(self, previous: _Dataset) -> None:
        """Keep the encodings and word indexes of studies carried over unchanged (the same
        dict object) from the previous generation, so a "day" only re-encodes what changed.
        Only advance_day uses it: the records it carries over are the fake's own."""
        before = {id(study): i for i, study in enumerate(previous.studies)}
        for i, study in enumerate(self.studies):
            j = before.get(id(study))
            if j is not None and previous.studies[j] is study:
                self._encoded[i] = previous._encoded[j]
                self._pretty[i] = previous._pretty[j]
                self._text[i] = previous._text[j]

    def __len__(self) -> int:
        return len(self.ids)

    def encoded(self, i: int) -> bytes:
        """The study's compact JSON, encoded once."""
        data = self._encoded[i]
        if data is None:
            data = json.dumps(self.studies[i], ensure_ascii=False, separators=(",", ":")).encode()
            self._encoded[i] = data
        return data

    def pretty(self, i: int) -> bytes:
        """The study as a download entry holds it (pretty-printed), encoded once."""
        data = self._pretty[i]
        if data is None:
            data = self._pretty[i] = download.pretty_json(self.studies[i])
        return data

    def download_zip(self) -> tuple[bytes, str]:
        """(zip bytes, strong ETag) of the whole generation, built once on first request."""
        with self._build_lock:  # concurrent first downloads build it once
            if self._zip is None:
                entries = ((f"{nct}.json", self.pretty(i)) for i, nct in enumerate(self.ids))
                body = download.build_zip(entries, download.zip_date_time(self.data_timestamp))
                self._zip = (body, download.strong_etag(body))
            return self._zip

    def size_stats(self) -> bytes:
        """The /stats/size answer for this generation, computed once."""
        with self._build_lock:
            if self._stats is None:
                stats = download.size_stats(self.ids, (self.encoded(i) for i in range(len(self))))
                self._stats = json.dumps(stats).encode()
            return self._stats

    def text(self, i: int) -> TextIndex:
        """The study's BasicSearch word index (built on first use; races are harmless)."""
        index = self._text[i]
        if index is None:
            index = self._text[i] = _basic_text(self.studies[i])
        return index

    def dates(self, path: tuple[str, ...]) -> list[list[str]]:
        """Per-study yyyy-MM-dd keys of a date field (partial dates by their first day)."""
        got = self._dates.get(path)
        if got is None:
            got = [
                [_date_key(v) for v in extract(s, path) if isinstance(v, str) and _PARTIAL_DATE.match(v)]
                for s in self.studies
            ]
            self._dates[path] = got
        return got


# --------------------------------------------------------------------------- HTTP plumbing


class HttpError(Exception):
    """An error answer (text/plain, like the real API)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Response:
    """A complete answer of the fake."""

    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)


def text_response(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """A text/plain answer (the API's error bodies are text/plain, never JSON)."""
    return Response(status, message.encode(), "text/plain;charset=UTF-8", headers or [])


def json_response(payload: Any) -> Response:
    """A 200 application/json answer."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Response(200, body, "application/json")


@dataclass
class RecordedRequest:
    """One request the fake received; status is None until answered (or for hang/reset)."""

    method: str
    path: str
    params: list[tuple[str, str]]
    status: int | None = None
    fault: str | None = None
    # The request headers as received (name -> value; names as sent), to check what reaches the wire.
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        """Parameters as a dict (last value wins)."""
        return dict(self.params)


class RequestLog:
    """Thread-safe list of RecordedRequest (iteration and indexing see a snapshot)."""

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def append(self, item: RecordedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the current list."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Forget all recorded requests."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RecordedRequest:
        with self._lock:
            return self._items[index]

    def __repr__(self) -> str:
        return f"RequestLog({self.snapshot()!r})"


FAULT_KINDS = frozenset(
    {
        "429", "500", "502", "503", "html", "truncated", "truncated_gzip", "slow", "held", "hang", "reset",
        "gone", "cut", "no_range", "truncated_zip", "partial_zip", "throttle",
    }
)  # fmt: skip
_FAULT_OPTIONS = {
    "429": {"retry_after"},
    "500": {"retry_after", "body"},
    "502": {"retry_after", "body"},
    "503": {"retry_after", "body"},
    "html": {"status"},
    "truncated": {"fraction", "declare_length"},
    "truncated_gzip": {"fraction"},
    "slow": {"seconds"},
    "held": {"max_seconds"},
    "hang": {"max_seconds"},
    "throttle": {"bytes_per_second"},
    "reset": set(),
    "gone": {"body"},
    "cut": {"after_bytes", "fraction"},
    "no_range": set(),
    "truncated_zip": {"fraction"},
    "partial_zip": {"fraction"},
}
_FAULT_MESSAGES = {
    "429": "Too Many Requests",
    "500": "Internal Server Error",
    "502": "Bad Gateway",
    "503": "Service Unavailable",
    "gone": "Not Found",
}
_HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
    "<h1>ClinicalTrials.gov is temporarily unavailable</h1>"
    "<p>We are performing maintenance. Please try again later.</p></body></html>"
)


@dataclass
class _Fault:
    """A queued fault: applies to the next `times` requests on `path` after `skip` others."""

    kind: str
    path: str
    times: int
    skip: int
    opts: dict[str, Any]

    def matches(self, sub: str) -> bool:
        """`path` is exact, or a prefix when it ends with '*'."""
        return _path_matches(self.path, sub)


@dataclass
class _Switch:
    """A queued data refresh: `action` runs once `remaining` requests on `path` are answered."""

    remaining: int
    path: str
    action: Any


class _Once:
    """Runs an action (or nothing) the first time it is called."""

    def __init__(self, action: Any) -> None:
        self._action = action

    def __call__(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()


def _path_matches(pattern: str, sub: str) -> bool:
    """A path relative to /api/v2: exact, or a prefix when the pattern ends with '*'."""
    return sub.startswith(pattern[:-1]) if pattern.endswith("*") else sub == pattern


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer bound to 127.0.0.1 on a free port; handler threads are daemons."""

    daemon_threads = True

    def __init__(self, fake: FakeCtgov) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Delegates GET to the FakeCtgov; keeps connections alive (HTTP/1.1) like the real API."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeCtgov/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.fake._serve(self)

    def do_HEAD(self) -> None:
        """Headers of the GET answer without its body (a client may size a download first)."""
        self.server.fake._serve(self, head=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `FakeCtgov.requests` instead of stderr."""


# --------------------------------------------------------------------------- the fake


class FakeCtgov:
    """Fake ClinicalTrials.gov API v2 serving a list of study dicts on 127.0.0.1."""

    def __init__(
        self,
        studies: Iterable[dict] = (),
        *,
        api_version: str = "2.0.5",
        data_timestamp: str = "2026-09-04T09:00:06",
        metadata: list | None = None,
        max_page_size: int = 1000,
        stray_token_on_full_last_page: bool = False,
        repeat_study_across_pages: bool = False,
        spec_file: str | Path | None = None,
    ) -> None:
        self.api_version = api_version
        self.data_timestamp = data_timestamp
        self.max_page_size = max_page_size
        self.stray_token_on_full_last_page = stray_token_on_full_last_page
        self.repeat_study_across_pages = repeat_study_across_pages
        self.requests = RequestLog()
        # Search resolves AREA[Field] on the true data model; `metadata=` only changes what
        # /studies/metadata reports (schema-drift tests).
        default_tree = default_metadata(spec_file)
        self._model_fields = field_map(default_tree)
        self._default_metadata_json = json.dumps(default_tree).encode()
        self.metadata = metadata
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._switches: list[list[Any]] = []
        self._bytes_sent = 0
        self._cache: OrderedDict[tuple, list[int]] = OrderedDict()
        self._generation = 0
        self._data = _Dataset(studies, self._generation, data_timestamp)
        self._stop = threading.Event()
        self._released = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeCtgov:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._httpd is None:
            self._stop.clear()
            self._httpd = _Server(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.01},  # stop() waits up to one poll interval
                name=f"FakeCtgov:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; releases hanging/slow handlers and closes open connections."""
        httpd = self._httpd
        if httpd is None:
            return
        self._stop.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # keep-alive connections would otherwise still be answered
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeCtgov:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only while started)."""
        if self._httpd is None:
            raise RuntimeError("FakeCtgov is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL to give the client, e.g. http://127.0.0.1:PORT/api/v2."""
        return f"http://127.0.0.1:{self.port}{BASE_PATH}"

    # ----------------------------------------------------------------- data and switches

    def set_studies(self, studies: Iterable[dict], *, data_timestamp: str | None = None) -> None:
        """Swap the served studies (a changed registry); old page tokens stop working."""
        with self._lock:
            self._generation += 1
            if data_timestamp is not None:
                self.data_timestamp = data_timestamp
            # No cache reuse here: a caller may have edited a record in place before passing it.
            self._data = _Dataset(studies, self._generation, self.data_timestamp)
            self._cache.clear()

    @property
    def studies(self) -> list[dict]:
        """Copies of the served studies in nctId order (editing one changes nothing served)."""
        return copy.deepcopy(self._data.studies)

    def study(self, nct_id: str) -> dict:
        """A copy of one served record, to edit and pass to advance_day(changed=[...]);
        KeyError if the registry does not hold it."""
        ds = self._data
        for nct, study in zip(ds.ids, ds.studies, strict=True):
            if nct == nct_id:
                return copy.deepcopy(study)
        raise KeyError(nct_id)

    def download_zip(self) -> tuple[bytes, str]:
        """(bytes, ETag) that /studies/download?format=json.zip serves now (without faults)."""
        return self._data.download_zip()

    def advance_day(
        self,
        date: str,
        *,
        changed: Iterable[dict] = (),
        added: Iterable[dict] = (),
        removed: Iterable[str] = (),
        data_timestamp: str | None = None,
    ) -> None:
        """Move the registry to the next day's data refresh, as one new data generation.

        `changed` records replace the served studies with the same nctId, `added` ones are new,
        `removed` nctIds leave the registry. Each changed or added record is copied (the
        caller's dict is left alone) and stamped as updated on `date` (yyyy-MM-dd):
        `lastUpdatePostDateStruct` = {date, ACTUAL} and `lastUpdateSubmitDate` the day before,
        so the update query (AREA[LastUpdatePostDate]RANGE[date,MAX]) finds it. /version then
        reports `data_timestamp` (default "<date>T09:00:06", which must be later than the
        current one), old page tokens expire and the download's bytes and ETag change.
        Raises ValueError for a bad date, an nctId in more than one list, a changed or removed
        id the registry does not hold, or an added id it already holds.
        """
        day = _parse_day(date)
        stamp = data_timestamp or f"{date}T09:00:06"
        changed, added, removed = list(changed), list(added), list(removed)
        with self._lock:  # one day at a time: the checks and the swap see the same data
            if stamp <= self.data_timestamp:
                raise ValueError(
                    f"data_timestamp {stamp!r} is not later than the current {self.data_timestamp!r}"
                )
            served = dict(zip(self._data.ids, self._data.studies, strict=False))
            changes = _day_changes(served, changed, added, removed)
            for nct, record in changes.items():
                served.pop(nct, None)
                if record is not None:
                    served[nct] = _stamped(record, day)
            self._generation += 1
            self.data_timestamp = stamp
            self._data = _Dataset(served.values(), self._generation, stamp, previous=self._data)
            self._cache.clear()

    def advance_day_after(self, requests: int, date: str, *, path: str = "/studies", **day: Any) -> None:
        """Like switch_generation_after, but the switch is advance_day(date, **day): e.g. the
        registry refreshes right after a download was cut (path="/studies/download"), so the
        resume meets a new ETag. The arguments are checked when the switch fires."""
        _parse_day(date)
        unknown = set(day) - {"changed", "added", "removed", "data_timestamp"}
        if unknown:
            raise ValueError(f"advance_day takes no argument(s) {sorted(unknown)}")
        for name in ("changed", "added", "removed"):
            day[name] = list(day.get(name, ()))  # an iterator would be spent before the switch
        self._queue_switch(requests, path, lambda: self.advance_day(date, **day))

    @property
    def study_count(self) -> int:
        """Number of studies currently served."""
        return len(self._data)

    @property
    def bytes_sent(self) -> int:
        """Response body bytes written so far (faults included)."""
        with self._lock:
            return self._bytes_sent

    def inject(
        self, kind: str | int, times: int = 1, *, path: str = "/studies", skip: int = 0, **opts: Any
    ) -> None:
        """Queue a fault for the next `times` requests to `path` (relative to /api/v2).

        Kinds: "429" (retry_after=1 seconds, None to omit the header), "500"/"502"/"503"
        (retry_after=None, body), "html" (status=200), "truncated" (fraction=0.5,
        declare_length=False: no Content-Length, connection closed; True: full length
        declared, so the client sees an incomplete read), "slow" (seconds=1.0, then the normal
        answer), "held" (max_seconds=60: the normal answer once the test calls `release()`, so
        a test waits on its own condition instead of a fixed delay), "hang" (max_seconds=60: no answer until the client disconnects or the server
        stops), "reset" (TCP reset, no answer). `path` may end with "*" for a prefix
        ("/studies*"); `skip` lets that many matching requests through first. A fault that
        should last ("always") is queued with a large `times` and dropped by reset_faults().

        Download faults (meant for path="/studies/download"): "gone" (404 text/plain, body=
        "Not Found"; for a 200 HTML page instead of the zip use "html"), "cut" (after_bytes=N
        or fraction=0.5 of the body this request would get, 200 or 206: the headers declare
        the whole body, then the connection closes mid-body; a body of at most after_bytes
        gets through whole, so a standing cut is outlasted by resuming), "no_range" (200 with the whole
        zip whatever Range says, no Accept-Ranges), "truncated_zip" (fraction=0.5: the zip's
        first bytes served as a complete 200 with a matching Content-Length and the true
        ETag), "partial_zip" (fraction=0.5: a well-formed zip of only the first studies by
        nctId, with its own ETag), "throttle" (bytes_per_second=65536: the normal answer,
        Range honoured, trickling out). A dataset change between a cut and its resume is a
        "cut" plus advance_day_after(1, date, path="/studies/download", ...).
        """
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {sorted(FAULT_KINDS)}")
        unknown = set(opts) - _FAULT_OPTIONS[kind]
        if unknown:
            raise ValueError(f"fault {kind!r} takes no option(s) {sorted(unknown)}")
        if times < 1 or skip < 0:
            raise ValueError("times must be >= 1 and skip >= 0")
        with self._lock:
            if kind == "held":
                self._released.clear()
            self._faults.append(_Fault(kind, path, times, skip, dict(opts)))

    def release(self) -> None:
        """Let every request held by a "held" fault get its answer (and later ones pass)."""
        self._released.set()

    def reset_faults(self) -> None:
        """Drop all queued faults."""
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """How many fault firings are still queued."""
        with self._lock:
            return sum(f.times for f in self._faults)

    def matching_ids(self, params: dict[str, str] | Iterable[tuple[str, str]]) -> list[str]:
        """nctIds a /studies request with these parameters matches over all its pages, in order.

        Paging parameters are ignored; a bad parameter raises HttpError like the endpoint's 400.
        """
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        p = _check_params(pairs, STUDIES_PARAMS, SPEC_STUDIES_PARAMS)
        ds = self._data
        return [ds.ids[i] for i in self._matches(ds, p)]

    # ----------------------------------------------------------------- request handling

    def _delay(self, fault: _Fault) -> bool:
        """Wait out a slow or held fault; True when the server is stopping meanwhile."""
        if fault.kind == "slow":
            return self._stop.wait(float(fault.opts.get("seconds", 1.0)))
        deadline = time.monotonic() + float(fault.opts.get("max_seconds", 60.0))
        while not self._released.wait(0.01):
            if self._stop.is_set():
                return True
            if time.monotonic() >= deadline:
                break
        return False

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        """Remember open connections so stop() can close them."""
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _serve(self, h: _Handler, *, head: bool = False) -> None:
        """Answer one GET (or HEAD): record it, apply a queued fault, else route it."""
        parts = urlsplit(h.path)
        params = parse_qsl(parts.query, keep_blank_values=True)
        record = RecordedRequest(
            "HEAD" if head else "GET", parts.path, params, headers=dict(h.headers.items())
        )
        self.requests.append(record)
        sub = parts.path[len(BASE_PATH) :] if parts.path.startswith(BASE_PATH + "/") else None
        h.head_only = head  # _write and the faults send no body for HEAD
        # A request counts towards a queued switch when it arrives (one already in flight when
        # the switch was queued does not), and the switch fires before its answer is complete.
        switch = self._switch_due(sub) if sub is not None else _Once(None)
        try:
            self._answer(h, record, sub, params, switch)
        finally:
            switch()  # after a fault's answer (a cut connection closes only after this)

    def _answer(
        self,
        h: _Handler,
        record: RecordedRequest,
        sub: str | None,
        params: list[tuple[str, str]],
        switch: _Once,
    ) -> None:
        """Send the answer (a fault's, or the endpoint's) and record its status."""
        fault = self._take_fault(sub) if sub else None
        if fault is not None:
            record.fault = fault.kind
            if fault.kind not in ("slow", "held"):
                record.status = self._apply_fault(h, fault, sub or "", params)
                return
            if self._delay(fault):
                h.close_connection = True  # server stopping: give up silently
                return
        response = self._respond(sub, params, h.headers)
        # The real API compresses JSON for clients that send Accept-Encoding: gzip.
        gzip_ok = response.content_type == "application/json" and response.status == 200
        if gzip_ok and "gzip" in h.headers.get("Accept-Encoding", ""):
            response = Response(
                response.status, gzip.compress(response.body, mtime=0), response.content_type,
                [*response.headers, ("Content-Encoding", "gzip")],
            )  # fmt: skip
        record.status = response.status  # before the write: a client may read the log at once
        switch()  # the answer holds the old data; the client can only see the new after it
        self._write(h, response)

    def switch_generation_after(
        self, studies_requests: int, studies: Iterable[dict], *, data_timestamp: str, path: str = "/studies"
    ) -> None:
        """After the next `studies_requests` requests to `path` (faulted ones included) are
        answered, refresh the data (a new generation: /version reports the new dataTimestamp
        and old page tokens expire), as the registry's daily refresh does mid-crawl. Queued
        switches fire in order; each counts requests once the one before it has fired."""
        studies = list(studies)
        self._queue_switch(
            studies_requests, path, lambda: self.set_studies(studies, data_timestamp=data_timestamp)
        )

    def _queue_switch(self, requests: int, path: str, action: Any) -> None:
        if requests < 1:
            raise ValueError("requests must be >= 1")
        with self._lock:
            self._switches.append(_Switch(requests, path, action))

    def _switch_due(self, sub: str) -> _Once:
        """Count one request against the first queued switch: its action if now due."""
        with self._lock:
            if not self._switches or not _path_matches(self._switches[0].path, sub):
                return _Once(None)
            pending = self._switches[0]
            pending.remaining -= 1
            if pending.remaining > 0:
                return _Once(None)
            self._switches.pop(0)
        return _Once(pending.action)

    def _take_fault(self, sub: str) -> _Fault | None:
        """Pop one firing of the first queued fault matching the path."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(sub):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _write(
        self, h: _Handler, response: Response, *, cut_at: int | None = None, rate: float | None = None
    ) -> None:
        """Send a response (client disconnects are ignored). With `cut_at`, the headers
        declare the whole body but only its first `cut_at` bytes are sent before the
        connection closes: a download dropped mid-stream. With `rate`, the body trickles out
        at about that many bytes a second (a slow link; progress and ETA become visible)."""
        body = response.body
        if cut_at is not None:
            h.close_connection = True
            body = body[:cut_at]
        try:
            h.send_response(response.status)
            h.send_header("Content-Type", response.content_type)
            h.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                h.send_header(name, value)
            if cut_at is not None:
                h.send_header("Connection", "close")
            h.end_headers()
            if getattr(h, "head_only", False):
                return
            if rate is None:
                h.wfile.write(body)
                self._count(len(body))
                return
            chunk = max(1, int(rate / 20))  # twenty writes a second
            for start in range(0, len(body), chunk):
                h.wfile.write(body[start : start + chunk])
                self._count(len(body[start : start + chunk]))
                if self._stop.wait(chunk / rate):
                    h.close_connection = True  # server stopping
                    return
        except OSError:
            h.close_connection = True

    def _count(self, n: int) -> None:
        """Add to bytes_sent."""
        with self._lock:
            self._bytes_sent += n

    def _apply_fault(self, h: _Handler, fault: _Fault, sub: str, params: list[tuple[str, str]]) -> int | None:
        """Misbehave as the fault says; returns the status sent (None if none)."""
        kind, opts = fault.kind, fault.opts
        if kind in ("429", "500", "502", "503"):
            default_retry = 1 if kind == "429" else None
            retry_after = opts.get("retry_after", default_retry)
            headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
            message = opts.get("body") or _FAULT_MESSAGES[kind]
            self._write(h, text_response(int(kind), message, headers))
            return int(kind)
        if kind == "html":
            status = int(opts.get("status", 200))
            self._write(h, Response(status, _HTML_PAGE.encode(), "text/html;charset=UTF-8"))
            return status
        if kind == "truncated":
            return self._send_truncated(h, self._respond(sub, params), opts)
        if kind == "truncated_gzip":
            # A gzip body whose deflate stream breaks part-way (length declared as sent): the
            # client's gzip decoder fails, as it does on a body damaged in transit.
            body = gzip.compress(self._respond(sub, params).body, mtime=0)
            cut = body[: max(40, int(len(body) * float(opts.get("fraction", 0.5))))]
            cut = cut[:10] + bytes(b ^ 0xFF for b in cut[10:40]) + cut[40:]
            self._write(h, Response(200, cut, "application/json", [("Content-Encoding", "gzip")]))
            return 200
        if kind == "hang":
            self._hang(h, float(opts.get("max_seconds", 60.0)))
            return None
        if kind == "throttle":
            response = self._respond(sub, params, h.headers)
            self._write(h, response, rate=float(opts.get("bytes_per_second", 65536)))
            return response.status
        if kind in ("gone", "cut", "no_range", "truncated_zip", "partial_zip"):
            return self._apply_download_fault(h, fault, sub, params)
        self._reset(h)
        return None

    def _apply_download_fault(
        self, h: _Handler, fault: _Fault, sub: str, params: list[tuple[str, str]]
    ) -> int:
        """The faults of a whole-registry download (they work on any path, but are meant
        for /studies/download): gone, cut, no_range, truncated_zip, partial_zip."""
        kind, opts = fault.kind, fault.opts
        if kind == "gone":  # the endpoint is not in the OpenAPI document: it may disappear
            self._write(h, text_response(404, opts.get("body") or _FAULT_MESSAGES["gone"]))
            return 404
        if kind == "cut":
            response = self._respond(sub, params, h.headers)
            size = len(response.body)
            if "after_bytes" in opts:
                # The connection drops after N bytes; a shorter body (the last piece of a
                # resumed download) gets through whole, so a standing cut can be outlasted.
                cut = int(opts["after_bytes"])
                self._write(h, response, cut_at=cut if cut < size else None)
            else:  # a fraction always cuts something
                cut = int(size * float(opts.get("fraction", 0.5)))
                self._write(h, response, cut_at=max(0, min(size - 1, cut)))
            return response.status
        if kind == "no_range":  # a server without resume support: Range is ignored
            response = self._respond(sub, params, h.headers, ranges=False)
            self._write(h, response)
            return response.status
        # truncated_zip / partial_zip: a whole 200 answer whose zip is damaged or incomplete.
        response = self._respond(sub, params, h.headers, ranges=False)
        if response.status != 200 or response.content_type != "application/zip":
            self._write(h, response)  # an error stays an error
            return response.status
        fraction = float(opts.get("fraction", 0.5))
        if kind == "truncated_zip":
            # Cut bytes declared as the whole body: the transfer looks complete, the zip's
            # central directory is missing (API-NOTES: looks fine until it is read).
            body = response.body[: max(1, min(len(response.body) - 1, int(len(response.body) * fraction)))]
            headers = response.headers  # the same ETag: the server believes it sent the file
        else:
            # A well-formed zip holding only the first part of the registry (by nctId).
            ds = self._data
            keep = int(len(ds) * fraction)
            entries = ((f"{nct}.json", ds.pretty(i)) for i, nct in enumerate(ds.ids[:keep]))
            body = download.build_zip(entries, download.zip_date_time(ds.data_timestamp))
            headers = [(k, download.strong_etag(body) if k == "ETag" else v) for k, v in response.headers]
        self._write(h, Response(200, body, response.content_type, headers))
        return 200

    def _send_truncated(self, h: _Handler, response: Response, opts: dict[str, Any]) -> int:
        """200 application/json whose body stops part-way, then the connection closes."""
        body = response.body
        cut = body[: max(1, min(len(body) - 1, int(len(body) * float(opts.get("fraction", 0.5)))))]
        h.close_connection = True
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            if opts.get("declare_length", False):
                h.send_header("Content-Length", str(len(body)))
            h.send_header("Connection", "close")  # without a length, EOF ends the body
            h.end_headers()
            h.wfile.write(cut)
            self._count(len(cut))
        except OSError:
            pass
        return 200

    def _hang(self, h: _Handler, max_seconds: float) -> None:
        """Send nothing until the client disconnects, the server stops or max_seconds pass."""
        h.close_connection = True
        sock = h.connection
        deadline = time.monotonic() + max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                readable, _, _ = select.select([sock], [], [], 0.05)
                if readable and not sock.recv(1, socket.MSG_PEEK):
                    return  # the client gave up and closed the connection
            except (OSError, ValueError):
                return
            if readable:
                self._stop.wait(0.05)  # unexpected bytes: keep hanging without spinning

    def _reset(self, h: _Handler) -> None:
        """Close the connection with a TCP RST (SO_LINGER 0) and no response."""
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
        except OSError:
            pass

    def _respond(
        self, sub: str | None, params: list[tuple[str, str]], headers: Any = None, *, ranges: bool = True
    ) -> Response:
        """Route to an endpoint; HttpError becomes a text/plain answer. `headers` (the
        request's) matter only to the download: Range and If-Range, unless `ranges` is off."""
        try:
            if sub == "/version":
                _check_params(params, frozenset(), frozenset())
                return json_response({"apiVersion": self.api_version, "dataTimestamp": self.data_timestamp})
            if sub == "/studies":
                return self._list_studies(params)
            if sub == "/studies/metadata":
                _check_params(params, frozenset(), SPEC_METADATA_PARAMS)
                if self.metadata is None:
                    return json_response(self._default_metadata_json)
                return json_response(self.metadata)
            if sub == "/studies/download":
                return self._download(params, headers if ranges else None)
            if sub == "/stats/size":
                _check_params(params, frozenset(), frozenset())
                return json_response(self._data.size_stats())
        except HttpError as err:
            return text_response(err.status, err.message)
        if sub is not None:  # /studies/{nctId}, /studies/enums, other /stats: never sent by the client
            return text_response(
                404,
                f"`{BASE_PATH}{sub}` is {NOT_EMULATED} (only /version, /studies, /studies/metadata, "
                "/studies/download, /stats/size)",
            )
        return text_response(404, "Not Found")

    # ----------------------------------------------------------------- /studies/download

    def _download(self, params: list[tuple[str, str]], headers: Any) -> Response:
        """The whole registry as ctg-studies.json.zip; a single byte range when asked (206),
        unless If-Range names another version (then the whole new body, 200)."""
        p = _check_params(params, DOWNLOAD_PARAMS, SPEC_STUDIES_PARAMS | DOWNLOAD_PARAMS)
        fmt = p.get("format")
        if fmt is None:
            raise HttpError(400, f"`format` is missing: a download without format=json.zip is {NOT_EMULATED}")
        if fmt != "json.zip":
            if fmt in DOWNLOAD_FORMATS:
                raise HttpError(400, f"format `{fmt}` is {NOT_EMULATED} (json.zip only)")
            raise HttpError(400, f"format `{fmt}` is not one of {', '.join(sorted(DOWNLOAD_FORMATS))}")
        ds = self._data
        body, etag = ds.download_zip()
        last_modified = download.http_date(ds.data_timestamp)
        out = [
            ("ETag", etag),
            ("Accept-Ranges", "bytes"),
            ("Content-Disposition", f'attachment; filename="{download.ZIP_FILENAME}"'),
            *([("Last-Modified", last_modified)] if last_modified else []),
        ]
        if headers is None:  # a server that ignores Range (the no_range fault)
            return Response(200, body, "application/zip", [h for h in out if h[0] != "Accept-Ranges"])
        wanted = headers.get("Range")
        if_range = headers.get("If-Range")
        if wanted is None or (if_range is not None and if_range not in (etag, last_modified)):
            return Response(200, body, "application/zip", out)  # RFC 9110: a stale If-Range gets it all
        try:
            first, last = download.parse_range(wanted, len(body))
        except download.RangeNotSatisfiable:
            return Response(
                416,
                b"Range Not Satisfiable",
                "text/plain;charset=UTF-8",
                [*out, ("Content-Range", f"bytes */{len(body)}")],
            )
        except download.RangeNotEmulated:
            raise HttpError(
                400, f"Range `{wanted}` is {NOT_EMULATED} (one range: bytes=N- or bytes=N-M)"
            ) from None
        content_range = ("Content-Range", f"bytes {first}-{last}/{len(body)}")
        return Response(206, body[first : last + 1], "application/zip", [*out, content_range])

    # ----------------------------------------------------------------- /studies

    def _list_studies(self, params: list[tuple[str, str]]) -> Response:
        """One page of matching studies: {"studies", "nextPageToken"?, "totalCount"?}."""
        p = _check_params(params, STUDIES_PARAMS, SPEC_STUDIES_PARAMS)
        page_size = self._page_size(p.get("pageSize"))
        count_total = _parse_bool("countTotal", p["countTotal"]) if "countTotal" in p else False
        ds = self._data
        matches = self._matches(ds, p)
        digest = _digest({k: v for k, v in p.items() if k not in _PAGING_PARAMS})
        page_no, offset = 0, 0
        if "pageToken" in p:
            page_no, offset = _read_token(p["pageToken"], ds.generation, digest, len(matches))
        rows = matches[offset : offset + page_size]
        next_offset = offset + len(rows)
        if self.repeat_study_across_pages and page_no == 1 and offset > 0 and rows:
            # The index shifted by one between pages: page 2 starts with page 1's last study.
            rows = [matches[offset - 1], *matches[offset : offset + page_size - 1]]
            next_offset = offset + len(rows) - 1
        token = None
        if next_offset < len(matches):
            token = _make_token(ds.generation, page_no + 1, next_offset, digest)
        elif self.stray_token_on_full_last_page and rows and len(rows) == page_size:
            # API-NOTES: an exactly full last page may still carry a token whose page is empty.
            token = _make_token(ds.generation, page_no + 1, next_offset, digest)
        body = [b'{"studies":[', b",".join(ds.encoded(i) for i in rows), b"]"]
        if token:
            body.append(b',"nextPageToken":' + json.dumps(token).encode())
        if count_total and "pageToken" not in p:  # spec: totalCount with the first page only
            body.append(b',"totalCount":%d' % len(matches))
        body.append(b"}")
        return json_response(b"".join(body))

    def _page_size(self, value: str | None) -> int:
        """pageSize: int >= 0 (spec), 0/absent = 10, silently cut to the maximum (1000)."""
        if value is None:
            return DEFAULT_PAGE_SIZE
        try:
            size = int(value)
        except ValueError:
            raise HttpError(400, f"pageSize `{value}` is not an integer") from None
        if size < 0:
            raise HttpError(400, f"pageSize must not be negative, got {size}")
        return min(size or DEFAULT_PAGE_SIZE, self.max_page_size)

    def _matches(self, ds: _Dataset, p: dict[str, str]) -> list[int]:
        """Indexes of matching studies in nctId order (cached per search and data generation)."""
        fmt = p.get("format", "json")
        if fmt != "json":
            raise HttpError(400, f"format `{fmt}` is {NOT_EMULATED} (json only)")
        search = tuple(p.get(name, "") for name in ("query.term", "filter.advanced"))
        key = (ds.generation, search)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        predicates = [self._compile(name, p[name]) for name in ("query.term", "filter.advanced") if name in p]
        result = [i for i in range(len(ds)) if all(pred.match(ds, i) for pred in predicates)]
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return result

    def _compile(self, name: str, expr: str) -> _Node:
        """Compile one Essie parameter; a bad expression is a 400 text/plain."""
        try:
            return compile_expression(expr, self._model_fields)
        except EssieError as err:
            raise HttpError(400, f"Invalid `{name}` expression `{expr}`: {err}") from None


# --------------------------------------------------------------------------- helpers


def _parse_day(date: str) -> dt.date:
    """A "day" of the fake registry: yyyy-MM-dd (ValueError otherwise)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise ValueError(f"date must be yyyy-MM-dd, got {date!r}")
    return dt.date.fromisoformat(date)


def _day_changes(
    served: dict[str, dict], changed: list[dict], added: list[dict], removed: list[str]
) -> dict[str, dict | None]:
    """nctId -> new record (None = removed) of one day, checked against the served registry."""
    out: dict[str, dict | None] = {}

    def put(nct: str | None, record: dict | None, must_exist: bool, what: str) -> None:
        if not nct:
            raise ValueError(f"a {what} record has no protocolSection.identificationModule.nctId")
        if nct in out:
            raise ValueError(f"{nct} is given more than once in one day")
        if (nct in served) != must_exist:
            held = "does not hold" if must_exist else "already holds"
            raise ValueError(f"{what} {nct}: the registry {held} it")
        out[nct] = record

    for record in changed:
        put(nct_id_of(record), record, True, "changed")
    for record in added:
        put(nct_id_of(record), record, False, "added")
    for nct in removed:
        put(nct, None, True, "removed")
    return out


def _stamped(record: dict, day: dt.date) -> dict:
    """A copy of the record posted as updated on `day` (and submitted the day before)."""
    out = copy.deepcopy(record)
    status = out.setdefault("protocolSection", {}).setdefault("statusModule", {})
    status["lastUpdatePostDateStruct"] = {"date": day.isoformat(), "type": "ACTUAL"}
    status["lastUpdateSubmitDate"] = (day - dt.timedelta(days=1)).isoformat()
    return out


def _check_params(
    params: list[tuple[str, str]], emulated: frozenset[str], spec_names: frozenset[str]
) -> dict[str, str]:
    """Unknown, not emulated or repeated names -> 400 text/plain; else the parameters as a dict."""
    seen: dict[str, str] = {}
    for name, value in params:
        if name not in spec_names:
            raise HttpError(400, f"`{name}` is unknown parameter")  # the live API's wording
        if name not in emulated:
            raise HttpError(400, f"`{name}` is a parameter of the API that is {NOT_EMULATED}")
        if name in seen:
            raise HttpError(400, f"`{name}` parameter is given more than once")
        seen[name] = value
    return seen


def _parse_bool(name: str, value: str) -> bool:
    """A boolean parameter (true/false, case-insensitive)."""
    if value.lower() not in ("true", "false"):
        raise HttpError(400, f"`{name}` must be true or false, got `{value}`")
    return value.lower() == "true"


def _digest(others: dict[str, str]) -> str:
    """Hash of every parameter except countTotal, pageSize and pageToken."""
    canonical = json.dumps(sorted(others.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _make_token(generation: int, page_no: int, offset: int, digest: str) -> str:
    """An opaque URL-safe page token."""
    raw = f"{generation}:{page_no}:{offset}:{digest}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, generation: int, digest: str, total: int) -> tuple[int, int]:
    """(page number, offset) of a token; 400 if foreign, stale or bound to other parameters."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        gen_s, page_s, offset_s, token_digest = raw.split(":")
        gen, page_no, offset = int(gen_s), int(page_s), int(offset_s)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, f"Invalid `pageToken` `{token}`") from None
    if gen != generation:  # API-NOTES: tokens may stop working after the daily data refresh
        raise HttpError(400, "`pageToken` has expired: the data was refreshed; start again")
    if token_digest != digest:
        raise HttpError(400, "`pageToken` was issued for different parameters; repeat them unchanged")
    if not 0 <= offset <= total:
        raise HttpError(400, f"Invalid `pageToken` `{token}`")
    return page_no, offset
