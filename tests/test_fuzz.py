"""Fuzz (issue 20, item 8): real records mutated field by field, mixed with genuine ones, pushed
through the API path (the suite's fake API, serving the exact bytes) and the bulk path (a
.jsonl.gz or a zip), through `refresh` as the CLI and the flow call it.

Properties, per batch:
- no traceback: the run publishes, or fails only at the gates on the quarantined share;
- the night publishes whenever the quarantined share is under `max_rejected_share`;
- every genuine study (an unmutated real record with a canonical id) is published with exactly
  the content a clean run of the same records publishes: no malformed record (a twin whose id is
  the genuine one with whitespace, case or fullwidth changes, or an older copy of it) replaces or
  removes it;
- every record served without a canonical id is quarantined with a reason, and nothing is
  published under an id the batch did not hold.

The default profile runs a few small batches (well under a minute); `HYPOTHESIS_PROFILE=fuzz`
runs many more, outside the default suite. The figures (records tried, quarantined, loaded,
tracebacks, genuine studies lost, run time) are printed at the end of the module and written to
`fuzz-figures.json` in pytest's base temporary folder (or to $TRIALTRENDS_FUZZ_FIGURES).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import test_settings
from hypothesis import HealthCheck, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from mutants import (
    BAD_UTF8,
    Published,
    deep,
    delete_path,
    encode,
    is_canonical,
    nct,
    serving,
    set_path,
    with_id,
    write_jsonl_gz,
    write_zip,
)

from trialtrends.extract.records import canonical_nct_id
from trialtrends.pipeline import refresh
from trialtrends.validate.gates import GateFailed

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
# The default suite: a few fixed small batches per path (derandomized: the same every run).
hypothesis_settings.register_profile(
    "trialtrends-default", max_examples=5, deadline=None, derandomize=True, database=None,
    suppress_health_check=_QUIET, print_blob=True,
)  # fmt: skip
# Outside it: `HYPOTHESIS_PROFILE=fuzz uv run pytest tests/test_fuzz.py` (minutes).
hypothesis_settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("TRIALTRENDS_FUZZ_EXAMPLES", "60")), deadline=None,
    suppress_health_check=_QUIET, print_blob=True,
)  # fmt: skip
PROFILE = hypothesis_settings.get_profile(
    "fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "trialtrends-default"
)

# Lenient classifier gate: a batch is a handful of studies, some mutated beyond recognition.
# Small batches: one garbled country string (kept under code ZZ, its own trial's problem) is a
# large share of a few trials; that gate is tested in test_poison, these properties are about the
# rejected share.
SETTINGS = {"max_unclassified_share": 1.0, "max_unmapped_country_share": 1.0}
# The API path's reconciliation gate tolerates 5 studies per query between totalCount and the
# unique canonical ids served; a batch holds at most this many records without their own id.
MAX_ID_BREAKING = 4
# Records of the shared material in the pool the batches draw from (all 64 records, and an even
# sample of the corpus): clean runs of the whole pool, once per path, are what the genuine
# studies of every batch are compared with.
CORPUS_SAMPLE = 48


# ---- figures -----------------------------------------------------------------------------------


@dataclass
class Figures:
    batches: Counter = field(default_factory=Counter)  # per path
    records_tried: int = 0
    genuine_tried: int = 0
    mutants_tried: int = 0
    mutations: Counter = field(default_factory=Counter)  # per kind
    quarantined: int = 0
    loaded: int = 0
    published_runs: int = 0
    gated_runs: int = 0
    tracebacks: int = 0
    genuine_lost: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, Counter) else v for k, v in self.__dict__.items()}


class _Summary:
    """A pytest plugin registered by the `figures` fixture: prints them in the terminal summary
    (a fixture's own output would be captured)."""

    def __init__(self) -> None:
        self.text: str | None = None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.text:
            terminalreporter.write_line(f"fuzz figures: {self.text}")


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tally = Figures()
    summary = _Summary()
    request.config.pluginmanager.register(summary, "trialtrends-fuzz-figures")
    started = time.monotonic()
    yield tally
    data = {"examples_per_path": PROFILE.max_examples, "wall_seconds": round(time.monotonic() - started, 1),
            **tally.as_dict(), "seconds_in_runs": round(tally.seconds, 1)}  # fmt: skip
    data.pop("seconds")
    summary.text = json.dumps(data, sort_keys=True)
    out = Path(
        os.environ.get("TRIALTRENDS_FUZZ_FIGURES") or tmp_path_factory.getbasetemp() / "fuzz-figures.json"
    )
    out.write_text(summary.text + "\n")


# ---- the pool of real records and their clean runs ---------------------------------------------


@dataclass
class Clean:
    """A clean run of the whole pool on one path: what each genuine study should become."""

    published: Published
    served: set[str]  # nctIds the path read at all (the fake's searches choose on the API path)


@pytest.fixture(scope="module")
def pool(corpus_studies: list[dict]) -> list[dict]:
    corpus, records = corpus_studies[:-64], corpus_studies[-64:]
    step = max(1, len(corpus) // CORPUS_SAMPLE)
    return [*corpus[::step][:CORPUS_SAMPLE], *records]


@pytest.fixture(scope="module")
def clean(pool, figures, tmp_path_factory) -> dict[str, Clean]:
    out = {}
    for path in ("api", "bulk"):
        tmp = tmp_path_factory.mktemp(f"clean-{path}")
        settings, ctx = _run(path, tmp, [(r, encode(r)) for r in pool], "jsonl", 1.0)
        assert ctx.manifest.published
        published = Published(settings.warehouse_path)
        # The bulk path reads every record; the API path only what the fake's searches match.
        served = (
            {nct(r) for r in pool}
            if path == "bulk"
            else published.trials | {i for i, _r, _p in published.rejected if i}
        )
        out[path] = Clean(published, served)
    return out


@pytest.fixture(scope="module")
def genuine_choices(pool, clean) -> list[int]:
    """Pool positions of studies both clean runs publish as cell therapy: genuine studies drawn
    from them keep the classifier gate meaningful (a batch always has cell therapy)."""
    both = clean["api"].published.trials & clean["bulk"].published.trials
    return [i for i, r in enumerate(pool) if nct(r) in both]


# ---- mutations ---------------------------------------------------------------------------------

# Where flatten reads (mutations here change what is published, not only the raw payload).
READ_ROOTS = (
    ("protocolSection", "identificationModule"), ("protocolSection", "statusModule"),
    ("protocolSection", "designModule"), ("protocolSection", "sponsorCollaboratorsModule"),
    ("protocolSection", "conditionsModule"), ("protocolSection", "armsInterventionsModule"),
    ("protocolSection", "contactsLocationsModule"), ("derivedSection", "miscInfoModule"),
    ("protocolSection", "descriptionModule"),
)  # fmt: skip


def paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key and list position of a record (the first three items of a list)."""
    out = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value[:3]))
    else:
        return out
    for key, child in items:
        out.append((*prefix, key))
        out.extend(paths_of(child, (*prefix, key)))
    return out


# Huge values: characters of a string, items of a list, bytes of a list (a record stays a few MB).
HUGE_STRINGS = [50_000, 1_000_000]
HUGE_LISTS = [1_000, 10_000]
MAX_HUGE_LIST_BYTES = 4_000_000
WRONG_TYPES = [0, -1, 1.5, True, None, "text", "", [], {}, ["x"], {"a": 1}, [[]]]
INSERTS = ["\x00", "\x07", "\x1b[31m", "\x1b]8;;http://x\x07", "\u200b", "\ufeff", "\x85", "\u2028",
           "\r", "\ud800", "\udfff", "\ud83d"]  # fmt: skip
KINDS = ["delete", "wrong_type", "empty", "huge_string", "huge_list", "deep_300", "deep_2000",
         "surrogate", "control", "big_int", "bad_utf8", "random_text"]  # fmt: skip
IDS = [
    lambda i: i + "\n", lambda i: " " + i, lambda i: i + " ", lambda i: "\t" + i, lambda i: i.lower(),
    lambda i: "Nct" + i[3:], lambda i: i[:3] + i[3:].translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    lambda i: "ＮＣＴ" + i[3:], lambda i: i[:3] + "\u200b" + i[3:], lambda i: i + "0", lambda i: i[:-1],
    lambda i: int(i[3:]), lambda i: None, lambda i: [i], lambda i: {"id": i},
]  # fmt: skip


@st.composite
def mutated_value(draw: st.DrawFn, kind: str, current: Any) -> Any:
    """A new value of kind `kind` for a field now holding `current`."""
    text = current if isinstance(current, str) else "CAR-T cells"
    at = draw(st.integers(0, len(text)))
    if kind == "wrong_type":
        return draw(st.sampled_from([v for v in WRONG_TYPES if type(v) is not type(current)]))
    if kind == "empty":
        return draw(st.sampled_from(["", [], {}, " ", "\n"]))
    if kind == "huge_string":
        length = draw(st.sampled_from(HUGE_STRINGS))
        return ((text or "x") * (length // max(len(text), 1) + 1))[:length]
    if kind == "huge_list":
        size = len(json.dumps(current, ensure_ascii=True)) + 1
        return [current] * min(draw(st.sampled_from(HUGE_LISTS)), max(1, MAX_HUGE_LIST_BYTES // size))
    if kind == "deep_300":
        return json.loads("[" * 300 + '"x"' + "]" * 300)
    if kind == "deep_2000":
        return deep(2000)
    if kind in ("surrogate", "control"):
        pieces = INSERTS[-3:] if kind == "surrogate" else INSERTS[:-3]
        return (
            text[:at] + "".join(draw(st.lists(st.sampled_from(pieces), min_size=1, max_size=3))) + text[at:]
        )
    if kind == "big_int":
        return draw(st.sampled_from([2**63, 2**64 + 1, -(2**63) - 1, 10**30, -(10**40)]))
    if kind == "bad_utf8":
        return BAD_UTF8
    return draw(st.text(max_size=40))  # random_text


@st.composite
def mutant(draw: st.DrawFn, record: dict, figures: Figures | None = None) -> dict:
    """`record` with one to three fields mutated."""
    everything = paths_of(record)
    read = [p for p in everything if p[:2] in READ_ROOTS and len(p) > 2]
    out = record
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(read) | st.sampled_from(everything))
        kind = draw(st.sampled_from(KINDS))
        try:
            node: Any = out
            for key in path[:-1]:
                node = node[key]
            current = node[path[-1]]
            if kind == "delete":
                out, kind = delete_path(out, path), "delete"
            else:
                out = set_path(out, path, draw(mutated_value(kind, current)))
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed or retyped the path
            continue
        note(f"{nct(record)}: {kind} at {'.'.join(map(str, path))}")
        if figures is not None:
            figures.mutations[kind] += 1
    return out


@dataclass
class Batch:
    """Records in serving order, each (carrier, record, genuine?): the carrier is the real
    record the fake API searches on (see mutants.serving)."""

    entries: list[tuple[dict, Any, bool]]
    genuine: list[str]
    container: str
    max_rejected_share: float

    def __repr__(self) -> str:  # the records themselves are pages long; the notes say what changed
        rows = [
            f"{'genuine' if g else 'mutant '} {_id_of(r)!r:.40} (of {nct(c)})" for c, r, g in self.entries
        ]
        return f"Batch({self.container}, max_rejected_share={self.max_rejected_share}: {'; '.join(rows)})"


@st.composite
def batches(
    draw: st.DrawFn, pool: list[dict], genuine_choices: list[int], bulk: bool, figures: Figures
) -> Batch:
    genuine_at = draw(st.lists(st.sampled_from(genuine_choices), min_size=1, max_size=4, unique=True))
    others = [i for i in range(len(pool)) if i not in genuine_at]
    mutant_at = draw(st.lists(st.sampled_from(others), min_size=1, max_size=5, unique=True))
    entries: list[tuple[dict, Any, bool]] = [(pool[i], pool[i], True) for i in genuine_at]
    for i in mutant_at:
        entries.insert(draw(st.integers(0, len(entries))), (pool[i], draw(mutant(pool[i], figures)), False))
    for _ in range(draw(st.integers(0, 3))):  # twins of genuine studies
        genuine = pool[draw(st.sampled_from(genuine_at))]
        gid = nct(genuine)
        kind = draw(st.sampled_from(["same_id_twin", "id_twin", "id_twin", "spoof"]))
        if kind == "spoof":  # another study whose bytes show the genuine id first (an earlier key)
            own = f"NCT{(int(gid[3:]) + 50_000_000) % 100_000_000:08d}"
            twin = {"aaa": {"nctId": gid}, **with_id(genuine, own)}
            before = draw(st.booleans())
        elif kind == "same_id_twin":  # an older copy under the very same id
            twin = set_path(
                genuine, ["protocolSection", "identificationModule", "briefTitle"], "HIJACKED twin"
            )
            twin = set_path(twin, ["protocolSection", "statusModule", "lastUpdatePostDateStruct"],
                            {"date": "2001-01-01", "type": "ACTUAL"})  # fmt: skip
            before = draw(st.booleans())
        else:
            twin = with_id(genuine, draw(st.sampled_from(IDS))(gid))
            if draw(st.booleans()):
                twin = draw(mutant(twin, figures))
            before = draw(st.booleans())
        figures.mutations[kind] += 1
        at = next(k for k, e in enumerate(entries) if e[2] and nct(e[1]) == gid) + (0 if before else 1)
        entries.insert(at, (genuine, twin, False))
    # Trim records without an id of their own (none, or a copy's) past what the reconciliation
    # gate tolerates.
    times = Counter(canonical_nct_id(_id_of(record)) for _c, record, _g in entries)
    kept, breaking = [], 0
    for entry in entries:
        record_id = canonical_nct_id(_id_of(entry[1]))
        if entry[2] or (record_id is not None and times[record_id] == 1):
            kept.append(entry)
        elif breaking < MAX_ID_BREAKING:
            kept.append(entry)
            breaking += 1
    return Batch(
        kept,
        [nct(pool[i]) for i in genuine_at],
        draw(st.sampled_from(["jsonl", "zip"])),
        # Mostly a gate no batch reaches (the genuine studies are checked in what publishes),
        # sometimes the default 2%, which most batches with a mutant exceed.
        draw(st.sampled_from([1.0, 1.0, 0.02])),
    )


def _id_of(record: Any) -> Any:
    try:
        return record["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError, IndexError):
        return None


# ---- the runs and the properties ---------------------------------------------------------------


def _run(path: str, tmp: Path, served: list[tuple[dict, bytes]], container: str, max_share: float):
    if path == "api":
        with serving([(dict(carrier), body) for carrier, body in served]) as fake:
            settings = test_settings(tmp, fake.url, max_rejected_share=max_share, **SETTINGS)
            return settings, refresh(settings)
    writer = write_zip if container == "zip" else write_jsonl_gz
    source = writer(tmp / f"studies.{'zip' if container == 'zip' else 'jsonl.gz'}", [b for _c, b in served])
    settings = test_settings(tmp, "http://127.0.0.1:9", max_rejected_share=max_share, **SETTINGS)
    return settings, refresh(settings, source=source)


def check_batch(path: str, batch: Batch, clean: Clean, tmp: Path, figures: Figures) -> None:
    figures.batches[path] += 1
    figures.records_tried += len(batch.entries)
    figures.genuine_tried += len(batch.genuine)
    figures.mutants_tried += len(batch.entries) - len(batch.genuine)
    started = time.monotonic()
    try:
        settings, ctx = _run(path, tmp, [(c, encode(r)) for c, r, _g in batch.entries], batch.container,
                             batch.max_rejected_share)  # fmt: skip
    except GateFailed as exc:
        figures.gated_runs += 1
        failed = [r for r in exc.results if not r.passed]
        # The night may only stop on the quarantined share: never on a record's content elsewhere.
        assert [r.name for r in failed] == ["data_quality"], failed
        assert "rejected" in failed[0].detail and "unmapped" not in failed[0].detail, failed[0].detail
        manifest = _last_manifest(tmp)
        share = (manifest.rejected_studies or 0) / max(manifest.quality["validated"], 1)
        assert share > batch.max_rejected_share, (share, batch.max_rejected_share)
        return
    except Exception:
        figures.tracebacks += 1
        raise
    finally:
        figures.seconds += time.monotonic() - started
    figures.published_runs += 1
    published = Published(settings.warehouse_path)
    figures.quarantined += len(published.rejected)
    figures.loaded += len(published.trials)
    share = (ctx.manifest.rejected_studies or 0) / max(ctx.manifest.quality["validated"], 1)
    assert share <= batch.max_rejected_share
    lost = [g for g in batch.genuine if published.content.get(g) != clean.published.content.get(g)]
    figures.genuine_lost += len(lost)
    assert not lost, {g: (published.fate(g), published.quarantined(g)) for g in lost}
    ids = {canonical_nct_id(_id_of(r)) for _c, r, _g in batch.entries} - {None}
    assert published.trials <= ids
    served_without_id = [r for c, r, _g in batch.entries if not is_canonical(r) and nct(c) in clean.served]
    quarantined_without_id = [reason for rid, reason, _p in published.rejected if rid is None]
    assert len(quarantined_without_id) >= len(served_without_id)
    assert all(reason for _rid, reason, _p in published.rejected)


def _last_manifest(tmp: Path):
    from trialtrends.extract.raw import list_runs

    return list_runs(tmp / "data" / "raw")[-1].manifest()


@pytest.mark.parametrize("path", ["api", "bulk"])
def test_mutated_real_records_never_stop_a_night_nor_displace_a_genuine_trial(
    path, figures, pool, clean, genuine_choices, tmp_path_factory
):
    assert len(genuine_choices) >= 10, "the clean runs publish too few of the pool's studies"

    @PROFILE
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        batch = data.draw(batches(pool, genuine_choices, path == "bulk", figures))
        check_batch(path, batch, clean[path], tmp_path_factory.mktemp(f"fuzz-{path}"), figures)

    fuzz()
