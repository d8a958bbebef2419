"""Product dictionary coverage on the shared cell-therapy corpus.

Usage: uv run python bench/product_coverage.py [--min-trials N] [--show-linked ID ...]

Reads `trialtrends.data/products.csv` and the shared corpus in place (TRIALTRENDS_SHARED_CTGOV,
default ../shared/ctgov; exits with a "skipped" message when it is absent) and prints:

- products by modality, and approved products by agency;
- the share of corpus trials linked to at least one product. A trial is linked when a product's
  name, INN, brand name or alias occurs in its brief title or one of its intervention names
  (case-insensitive, whole words, hyphen/space/no-separator variants between letter and digit
  runs, so `CT053` also finds `CT-053` and `CT 053`);
- the intervention-name codes (tokens like `[A-Z]{1,6}-?\\d{2,6}[A-Z]?`) found in >= N trials
  (default 2) that no product matches, so the dictionary gaps can be closed. Antigen, cytokine
  and gene names that look like codes (CD19, IL15, HER2, GPRC5D ...) are not product codes and are
  left out by the `NOT_A_PRODUCT` pattern below. Text already matched by a product is masked
  first, so parts of known names (e.g. `CART2019` in `MB-CART2019.1`) are not reported.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import re
import sys
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"\b[A-Z]{1,6}-?\d{2,6}[A-Z]?\b")
#: Code-shaped tokens that name antigens, cytokines, genes, cell lines or doses, not products.
NOT_A_PRODUCT = re.compile(
    r"^(?:CD\d+[A-Z]?|IL-?\d+[A-Z]?|HER-?2|GD-?2|GPC-?\d|PD-?L?1|CTLA-?4|TROP-?2|DLL-?3|FLT-?3|"
    r"MUC-?\d+[A-Z]?|CLDN-?\d+|CLL-?1|CS-?1|TGFBR-?2|CCR-?\d+|CXCR-?\d+|CCL-?\d+|TLR-?\d+|"
    r"MMP-?\d+|VP-?16|NKG-?2D|TP-?53|KRAS|EGFR-?\d+|HLA-?\w+|IFN\w*|TNF\w*|COVID-?19|SARS\w*|"
    r"[A-Z]-?\d{2}|IC-?9|AP-?1903|FOXP-?3|U-?87|NK-?92|BCL-?2|ROR-?\d|AXL|SLAMF-?7|GPRC-?5D|"
    r"IGG-?4|IGF-?1R?|CEACAM-?\d|ERBB-?\d|EPHA-?\d|FCRL-?\d|CDH-?\d+|TM4SF-?1|CLEC-?12A|CD-?\d+)$"
)


def shared_ctgov() -> Path:
    """TRIALTRENDS_SHARED_CTGOV, default ../shared/ctgov; exit with a reason when absent."""
    path = Path(os.environ.get("TRIALTRENDS_SHARED_CTGOV") or REPO_ROOT.parent / "shared" / "ctgov")
    corpus = path / "corpus" / "celltherapy-2026-08.jsonl.gz"
    if not corpus.is_file():
        sys.exit(f"skipped: shared ClinicalTrials.gov corpus not found at {corpus} "
                 "(set TRIALTRENDS_SHARED_CTGOV)")  # fmt: skip
    return path


def load_products() -> list[dict[str, str]]:
    text = resources.files("trialtrends.data").joinpath("products.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def term_pattern(term: str) -> str:
    """Regex for one name: separators optional between letter/digit runs, whole word."""
    chunks = re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d\s_-]+", term)
    body = r"[-\s_]{0,2}".join(re.escape(c) for c in chunks)
    return r"(?<![A-Za-z0-9])" + body + r"(?![A-Za-z0-9])"


def product_terms(p: dict[str, str]) -> list[str]:
    terms = [p["name"], p["inn"], *p["brand_names"].split("|"), *p["aliases"].split("|")]
    return list(dict.fromkeys(t.strip() for t in terms if t.strip()))


def load_corpus(root: Path) -> list[dict]:
    rows = []
    with gzip.open(root / "corpus" / "celltherapy-2026-08.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            ps = json.loads(line)["protocolSection"]
            ivs = [i.get("name", "") for i in ps.get("armsInterventionsModule", {}).get("interventions", [])]
            rows.append({"nct": ps["identificationModule"]["nctId"],
                         "title": ps["identificationModule"].get("briefTitle", ""),
                         "interventions": ivs})  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-trials", type=int, default=2)
    ap.add_argument("--show-linked", nargs="*", default=[], help="print the trials linked to these ids")
    args = ap.parse_args()
    root = shared_ctgov()
    products = load_products()
    studies = load_corpus(root)

    by_mod = Counter(p["modality"] for p in products)
    print(f"products: {len(products)}")
    for mod, n in by_mod.most_common():
        print(f"  {mod:<10} {n:>4}")

    by_agency: dict[str, list[str]] = defaultdict(list)
    for p in products:
        for entry in filter(None, p["approvals"].split(";")):
            agency = entry.split(":", 1)[0].strip()
            if p["product_id"] not in by_agency[agency]:
                by_agency[agency].append(p["product_id"])
    print(f"approved products: {sum(1 for p in products if p['approvals'])}")
    for agency, ids in sorted(by_agency.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print(f"  {agency:<13} {len(ids):>3}  {', '.join(ids)}")

    patterns = {p["product_id"]: re.compile("|".join(term_pattern(t) for t in product_terms(p)), re.I)
                for p in products}  # fmt: skip
    linked: dict[str, set[str]] = defaultdict(set)
    trials_per_product: Counter[str] = Counter()
    code_trials: dict[str, set[str]] = defaultdict(set)
    code_example: dict[str, str] = {}
    for s in studies:
        fields = [s["title"], *s["interventions"]]
        masked_ivs = list(s["interventions"])
        for pid, rx in patterns.items():
            if any(rx.search(f) for f in fields):
                linked[s["nct"]].add(pid)
                trials_per_product[pid] += 1
                masked_ivs = [rx.sub(" ~ ", f) for f in masked_ivs]
        for iv in masked_ivs:
            for tok in CODE.findall(iv):
                key = tok.replace("-", "")
                if NOT_A_PRODUCT.match(tok) or NOT_A_PRODUCT.match(key):
                    continue
                code_trials[key].add(s["nct"])
                code_example.setdefault(key, tok)

    n_linked = sum(1 for s in studies if linked.get(s["nct"]))
    print(f"corpus trials linked to a product: {n_linked}/{len(studies)} "
          f"({100 * n_linked / len(studies):.1f}%)")  # fmt: skip
    unused = [p["product_id"] for p in products if not trials_per_product[p["product_id"]]]
    print(f"products linked to no corpus trial (title/intervention): {len(unused)}  {', '.join(unused)}")
    print("top products by linked trials:")
    for pid, n in trials_per_product.most_common(15):
        print(f"  {pid:<22} {n:>4}")

    gaps = sorted(((len(v), k) for k, v in code_trials.items() if len(v) >= args.min_trials), reverse=True)
    print(f"intervention-name codes in >= {args.min_trials} trials not in the dictionary: {len(gaps)}")
    for n, key in gaps:
        print(f"  {code_example[key]:<14} {n:>3}  {' '.join(sorted(code_trials[key])[:4])}")

    for pid in args.show_linked:
        ids = sorted(n for n, ps in linked.items() if pid in ps)
        print(f"{pid}: {' '.join(ids)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
