r"""Reviewed rules of the disease-area classifier: every regex, and the reason for it.

This module is data: `trialtrends.transform.diseases` compiles it and holds no rule of its own.
Change a rule here, say why in its `reason`, and bump `DISEASE_RULES_VERSION`.

What a rule says: text in one condition (or one MeSH term, title, keyword) that matches
`pattern` is evidence that the trial population has `entity`, a disease of `category` in
`area`. A rule with `entity=None` is a *generic* (category-level) rule: "lymphoma",
"B-cell malignancies", "solid tumours", "autoimmune disease". A generic row is dropped when
the same trial also has a row in one of the categories it `covers` (default: its own
category; `AREA_WIDE`: any other row of the same area), so "Lymphoma | Diffuse Large B-Cell
Lymphoma" gives DLBCL, not DLBCL plus an unspecified lymphoma.

Regex dialect: Rust `regex` (what Polars runs): no look-around, no back-references. Every
pattern is compiled case-insensitively (Unicode); `(?-i:...)` marks case-sensitive acronyms
(ALL, MM, MG, RA, CLL...: "ALL" is a leukaemia, "all"/"small"/"allergy" are not). "Not X"
is written in two ways:

- `mask`: a regex whose matches are blanked (replaced by " ~ ") in the item *before* this
  rule's pattern is tried; e.g. Hodgkin masks "non-Hodgkin", so "non-Hodgkin lymphoma" never
  gives Hodgkin lymphoma, while "Hodgkin and non-Hodgkin lymphoma" still does.
- `unless`: a regex that vetoes the rule for the whole item; e.g. EBV infection is vetoed by
  any malignancy word in the same condition ("EBV-positive DLBCL" is a lymphoma, not an
  infection).

`IGNORE` is applied to every item before any rule: toxicities of the treatment (CRS, ICANS,
neurotoxicity, B-cell aplasia...), product words ("CAR-T cell therapy") and "healthy
volunteers" describe no disease of the trial population and must never become an entity.

Decisions (also in the reasons below):

- AL amyloidosis, POEMS syndrome, plasma-cell leukaemia and MGUS-related disease are
  plasma-cell disorders: haematological malignancy, category plasma-cell neoplasms. A bare
  "amyloidosis" is read as AL too (in these trials the target is the plasma-cell clone);
  transthyretin/AA/hereditary amyloidosis is other non-oncology.
- Neuroblastoma is its own solid category (an extracranial neural-crest tumour: not CNS,
  not a sarcoma), so a neuroblastoma + sarcoma + Wilms trial spans three solid categories.
- GvHD, graft rejection and desensitisation are other non-oncology (category
  transplantation): the alloimmunity is iatrogenic, and the population is transplant
  recipients (their malignancy, when named, is picked up by its own rule).
- PTLD is a (mostly B-cell) lymphoma; EBV/HIV/HBV/HPV/CMV words next to a malignancy word
  are the malignancy, not an infection.
- "Acute lymphoblastic leukaemia" with no lineage is a category-level row of
  `acute lymphoblastic leukaemia` (entity null); B-ALL is the entity when the B lineage is
  written; T-ALL/T-LBL belongs to T-cell malignancies.
- Bare "cancer", "neoplasms", "tumours", "malignancy", "advanced cancer" and "haematologic
  diseases" are not evidence of an area (they match no rule), so a trial whose conditions
  say only that falls back to its titles.
"""

from __future__ import annotations

from dataclasses import dataclass

DISEASE_RULES_VERSION = "2026.12.1"

HAEM = "haematological malignancy"
SOLID = "solid tumour"
AUTO = "autoimmune / immune-mediated"
INFECT = "infectious disease"
OTHER = "other non-oncology"
UNKNOWN = "unknown"
AREAS = (HAEM, SOLID, AUTO, INFECT, OTHER, UNKNOWN)

#: `covers` value: a generic row is dropped when the trial has any other row in its area.
AREA_WIDE: tuple[str, ...] = ("*",)

#: The solid category of generic "solid tumours"; not counted as an organ system by
#: `trial_disease_summary` (see the basket rule there).
SOLID_UNSPECIFIED = "solid tumours (unspecified)"
#: Entity of an explicitly pan-tumour / tumour-agnostic design (always a basket).
PAN_TUMOUR = "pan-tumour / tumour-agnostic design"


@dataclass(frozen=True)
class Rule:
    """One positive pattern: matching text is evidence that the population has `entity`."""

    area: str
    category: str | None
    entity: str | None
    pattern: str
    reason: str
    mask: str | None = None
    unless: str | None = None
    #: For generic rules (entity None): categories whose presence makes this row redundant.
    covers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Pattern:
    """A named pattern used for masking, with the reason it exists."""

    name: str
    pattern: str
    reason: str


# --------------------------------------------------------------------------------------------
# Shared fragments (plain strings spliced into patterns; each is a non-capturing group).
# --------------------------------------------------------------------------------------------
#: Leukaemia in both spellings and forms (leukemia, leukaemias, leukemic).
LEUK = r"(?:leuka?emi\w*)"
#: A cancer word: what makes "gastric" a gastric *cancer*. Lymphoma/leukaemia are left out
#: on purpose ("gastric MALT lymphoma" is a lymphoma, not gastric cancer).
CA = (
    r"(?:cancers?|carcinomas?|adenocarcinomas?|tumou?rs?|neoplasms?|neoplasias?|malignan\w*"
    r"|metasta\w*|squamous|blastomas?)"
)
#: A short window inside one item between an organ word and its cancer word.
WIN = r"[^,;|]{0,30}?"
#: Any malignancy word: vetoes infection rules ("EBV-positive DLBCL" is a lymphoma).
ONCO = (
    r"lymphoma|leuka?emi|myeloma|carcinoma|cancer|tumou?r|malignan|neoplas|sarcoma|\bPTLD\b"
    r"|lymphoproliferative|blastoma|melanoma|glioma"
    r"|(?-i:\b(?:DLBCL|LBCL|B-NHL|NHL|HL|cHL|HCC|NPC|ALL|AML|CLL|MM|ATLL?|ENKTL)\b)"
)
#: Haematological "malignancy" words after a lineage word (B-cell, T-cell, CD19...).
HM = (
    r"(?:malignan\w*|neoplas\w*|tumou?rs?|cancers?"
    r"|h[a]?ematolog\w*\s+(?:malignan|neoplas|tumou?r|cancer|disease)\w*)"
)
#: "Cancer of the ...": the organ named after the cancer word.
OF = r"(?:cancers?|carcinomas?|neoplasms?|tumou?rs?)\s+of\s+(?:the\s+)?"

# --------------------------------------------------------------------------------------------
# Applied to every item before any rule: words that name no disease of the population.
# --------------------------------------------------------------------------------------------
IGNORE: tuple[Pattern, ...] = (
    Pattern(
        "toxicities",
        r"cytokine[\s-]*release[\s-]*syndrome|(?-i:\bCRS\b)|\bICANS\b|immune[\s-]*effector[\s-]*cell[\s-]*associated"
        r"(?:\s+(?:neurotoxicity|h[a]?emophagocytic\s+lymphohistiocytosis[\s-]*like|hlh[\s-]*like))?(?:\s+syndrome)?"
        r"|neuro[\s-]*toxicit\w*|encephalopathy\s+syndrome|\bIEC[\s-]*HS\b|\bHLH[\s-]*like"
        r"|macrophage\s+activation\s+syndrome|b[\s-]*cell\s+aplasia|hypogammaglobulin\w*"
        r"|cardiotoxicit\w*|h[a]?ematotoxicit\w*|infusion[\s-]*related|immune[\s-]*related\s+adverse\w*"
        r"|tumou?r\s+lysis|on[\s-]*target[\s-]*off[\s-]*tumou?r",
        "Toxicities of the treatment (CRS, ICANS, IEC-HS, B-cell aplasia...) are trial outcomes, not "
        "the population's disease; 'tumour lysis' is not a tumour type. (Bare 'cytopenia' matches no "
        "rule; 'immune cytopenia' is a disease, so cytopenia is not blanked here.)",
    ),
    Pattern(
        "product words",
        r"\bcar[\s-]*(?:t|nk|m)\b(?:[\s-]*cells?)?(?:[\s-]*(?:therapy|treatment|infusion))?"
        r"|chimeric\s+antigen\s+receptor(?:[\s-]*(?:t|nk)[\s-]*(?:cells?|lymphocytes?))?(?:[\s-]*(?:therapy|treatment))?"
        r"|\bcell\s+therapy|gene\s+therapy|\bimmunotherapy",
        "Conditions such as 'CAR-T cell therapy' or 'chimeric antigen receptor T cells' name the "
        "product; they must not feed 'T-cell' rules.",
    ),
    Pattern(
        "exclusions",
        r"\(?\bexclud\w*[^)|;]*\)?|\bother\s+than\s+[^)|;]*",
        "'Solid tumour (excluding CNS)', 'LBCL (excluding Richter transformation)': what a condition "
        "excludes is not in the population.",
    ),
    Pattern(
        "broad MeSH headings",
        r"immune\s+system\s+diseases?|neoplasms\s+by\s+(?:histologic\s+type|site)|lymphatic\s+diseases?"
        r"|blood\s+protein\s+disorders?|hemostatic\s+disorders?|hemorrhagic\s+disorders?|vascular\s+diseases?",
        "Tree headings some sponsors paste into conditions (a myeloma trial listing 'Immune System "
        "Diseases', 'Vascular Diseases'): they name no disease of the population.",
    ),
    Pattern(
        "healthy",
        r"healthy(?:\s+\w+)?",
        "'Healthy volunteers/donors/subjects' give no disease entity.",
    ),
    Pattern(
        "b-cell depletion",
        r"b[\s-]*cells?[\s-]*(?:depletion|depleting|mediated|driven|targeted|reconstitution|lymphocytes?\b)",
        "'B-cell depletion in lupus', 'B-cell mediated disease': B-cell words in autoimmune trials "
        "describe the mechanism, not a B-cell malignancy.",
    ),
)

# --------------------------------------------------------------------------------------------
# Haematological malignancies
# --------------------------------------------------------------------------------------------
_PMBCL = r"primary\s+mediastinal[\w\s()-]*?lymphoma|\bPMBCL\b|\bPMBL\b|mediastinal\s+(?:large\s+)?b[\s-]*cell"
_PCNSL = (
    r"primary\s+(?:cns|central\s+nervous\s+system)[\w\s-]*?lymphoma|\bPCNSL\b|\bSCNSL\b"
    r"|(?:cns|central\s+nervous\s+system|brain|cerebral|intraocular|vitreoretinal)\s+(?:b[\s-]*cell\s+)?lymphoma"
    r"|lymphoma[^,;|]{0,30}?(?:central\s+nervous\s+system|\bcns\b)"
)
_B_ALL = (
    r"\bb[\s-]*(?:cell\s+|precursor\s+|lineage\s+|lymphoid\s+)?(?:acute\s+)?lymphoblastic"
    r"|\bb[\s-]*(?:cell\s+)?acute\s+lympho\w*\s+" + LEUK + r"|precursor\s+b[\s-]*cell|b[\s-]*precursor"
    r"|\bpre[\s-]*b[\s-]*(?:cell\s+)?(?:acute\s+)?lymphoblastic|(?-i:\bB-?A[Ll][Ll]\b)|(?-i:\bB\s+ALL\b)"
    r"|acute\s+lympho\w*\s+" + LEUK + r",?\s*\(?b[\s-]*cell|\bALL,\s*adult\s+b"
    r"|philadelphia[\s-]*(?:chromosome[\s-]*)?(?:positive|negative|like)\s+(?:b[\s-]*)?(?:acute\s+lympho|all\b)"
    r"|\bPh[\s+-]+(?:like\s+)?(?:B-)?ALL\b|b[\s-]*lymphoblastic"
)
_T_ALL = (
    r"\bt[\s-]*(?:cell\s+|lineage\s+|lymphoid\s+)?(?:acute\s+)?lymphoblastic|\bt[\s-]*cell\s+acute\s+lympho\w*"
    r"|precursor\s+t[\s-]*cell|(?-i:\bT-?A[Ll][Ll]\b)|(?-i:\bT-?LBL\b)|early\s+t[\s-]*cell\s+precursor"
    r"|\bETP[\s-]*ALL\b|\bt[\s-]*lymphoblastic"
)
_NON_HODGKIN = r"non[\s-]*hodgkin'?s?|nonhodgkin'?s?|\bnon[\s-]*HL\b|(?-i:\b[BT]?-?NHL\b)"

HAEM_RULES: tuple[Rule, ...] = (
    # ---- B-cell lymphoma -------------------------------------------------------------------
    Rule(
        HAEM,
        "B-cell lymphoma",
        "DLBCL",
        r"diffuse\s+large\s+(?:b[\s-]*)?(?:cell\s+)?lymphoma|\bDLBCL\b|\blarge\s+b[\s-]*cell\s+lymphoma"
        r"|\bLBCL\b|lymphoma,\s*large\s+b[\s-]*cell|lymphoma,\s*large[\s-]*cell,\s*diffuse"
        r"|diffuse\s+large\s+cell|\bDLCL\b",
        "DLBCL and the WHO 'large B-cell lymphoma' family; PMBCL and primary CNS lymphoma are masked "
        "because they contain 'large B-cell lymphoma' but are their own entities.",
        mask=_PMBCL + "|" + _PCNSL,
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "primary mediastinal B-cell lymphoma",
        _PMBCL,
        "PMBCL is a distinct entity (own CAR-T label); '(Thymic)' in its name is not a thymic tumour.",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "high-grade B-cell lymphoma",
        r"high[\s-]*grade\s+b[\s-]*cell\s+lymphoma|\bHGBC?L\b|double[\s-]*hit|triple[\s-]*hit",
        "HGBL incl. double/triple-hit (MYC + BCL2/BCL6) lymphomas.",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "follicular lymphoma",
        r"follicular\s+(?:b[\s-]*cell\s+)?(?:non[\s-]*hodgkin'?s?\s+)?lymphoma|lymphoma,\s*follicular|(?-i:\bFL\b)",
        "FL incl. grade 3b and transformed FL; 'FL' only in upper case.",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "mantle cell lymphoma",
        r"mantle[\s-]*cell|lymphoma,\s*mantle|(?-i:\bMCL\b)",
        "MCL; 'MCL' only in upper case.",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "CLL/SLL",
        r"chronic\s+lympho(?:cytic|id|blastic)?\s+" + LEUK + r"|small\s+lymphocytic\s+lymphoma"
        r"|"
        + LEUK
        + r",\s*lymphocytic,\s*chronic|(?-i:\bB?-?CLL\b)|(?-i:\bSLL\b)|chronic\s+lymphatic\s+"
        + LEUK,
        "CLL and SLL are one disease. Masks 'CLL-1'/'CLL1' (CLEC12A, an AML CAR target, not CLL).",
        mask=r"\bCLL[\s-]*1\b",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "CNS lymphoma",
        _PCNSL,
        "Primary and secondary CNS lymphoma: a lymphoma, never a CNS solid tumour.",
    ),
    Rule(HAEM, "B-cell lymphoma", "Burkitt lymphoma", r"burkitt", "Burkitt lymphoma / leukaemia."),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "marginal zone lymphoma",
        r"marginal[\s-]*zone|(?-i:\bMZL\b)|(?-i:\bMALT\b)|mucosa[\s-]*associated\s+lymphoid",
        "MZL incl. MALT/splenic/nodal; a 'gastric MALT lymphoma' is a lymphoma, not gastric cancer.",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "Waldenström macroglobulinaemia / LPL",
        r"waldenstr|lymphoplasmacytic|macroglobulin[a]?emia|(?-i:\bWM\b)",
        "WM is a lymphoplasmacytic (B-cell) lymphoma, not a plasma-cell neoplasm.",
    ),
    Rule(HAEM, "B-cell lymphoma", "hairy cell leukaemia", r"hairy[\s-]*cell", "A B-cell leukaemia."),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "B-cell prolymphocytic leukaemia",
        r"prolymphocytic\s+" + LEUK + r"|(?-i:\bB-?PLL\b)",
        "B-PLL; T-PLL is masked (a T-cell malignancy).",
        mask=r"\bt[\s-]*(?:cell\s+)?prolymphocytic|(?-i:\bT-?PLL\b)",
    ),
    Rule(HAEM, "B-cell lymphoma", "Richter transformation", r"richter", "CLL transformed to DLBCL."),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "PTLD",
        r"post[\s-]*transplant(?:ation)?\s+lymphoproliferative|\bPTLD\b",
        "Post-transplant lymphoproliferative disorder is a (mostly EBV+ B-cell) lymphoma, not an "
        "infection and not a transplant complication category.",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        "plasmablastic lymphoma",
        r"plasmablastic",
        "An aggressive B-cell lymphoma (plasmablastic, not a plasma-cell neoplasm).",
    ),
    Rule(
        HAEM,
        "B-cell lymphoma",
        None,
        r"\bb[\s-]*cells?\s+(?:non[\s-]*hodgkin'?s?\s+)?lymphomas?|lymphomas?,\s*b[\s-]*cell"
        r"|non[\s-]*hodgkin'?s?\s*(?:lymphomas?)?,?\s*(?:of\s+)?b[\s-]*cell|(?-i:\bB-?NHL\b)|\bb[\s-]*lymphomas?"
        r"|mature\s+b[\s-]*cell\s+(?:neoplas\w*|lymphoma)|indolent\s+(?:b[\s-]*cell\s+)?(?:non[\s-]*hodgkin'?s?\s+)?lymphoma"
        r"|(?-i:\biNHL\b)|aggressive\s+b[\s-]*cell|b[\s-]*cell\s+non[\s-]*hodgkin|transformed\s+lymphoma",
        "Generic B-cell (non-Hodgkin) lymphoma, kept only when no specific B-cell lymphoma is named. "
        "'B-cell lymphoblastic' is B-ALL and does not match (needs 'lymphoma' right after 'B-cell').",
        mask=r"lympho(?:blastic|id)\s+(?:leuka?emia\s*/\s*)?lymphoma|\bt[\s-]*cell\s*/\s*histiocyte",
    ),
    # ---- Acute lymphoblastic leukaemia -----------------------------------------------------
    Rule(
        HAEM,
        "acute lymphoblastic leukaemia",
        "B-ALL",
        _B_ALL,
        "B-lineage ALL/LBL incl. B-precursor and Ph+ ALL (Ph+ ALL is B-lineage, not CML); 'B-ALL' "
        "only in upper case.",
    ),
    Rule(
        HAEM,
        "acute lymphoblastic leukaemia",
        None,
        r"acute\s+lympho(?:blastic|cytic|id|ide|blast|atic)?\w*\s+" + LEUK + r"|(?-i:\bALL\b)"
        r"|lymphoblastic\s+" + LEUK + r"|" + LEUK + r",\s*lympho\w*,\s*acute|precursor\s+cell\s+lymphoblastic"
        r"|lymphoblastic\s+lymphoma|acute\s+lymphoblastic",
        "ALL with no lineage written. Upper-case 'ALL' only ('all', 'small', 'allergy' never match); "
        "B- and T-lineage phrases are masked so 'B-ALL'/'T-ALL' do not also give this row.",
        mask=_B_ALL + "|" + _T_ALL,
    ),
    # ---- Plasma-cell neoplasms -------------------------------------------------------------
    Rule(
        HAEM,
        "plasma-cell neoplasms",
        "multiple myeloma",
        r"\bmyeloma|multiple\s+my\w{0,3}oma|(?-i:\b(?:RR|ND|R/R|r/r|TE|TI)?MM\b)|(?-i:\bR/RMM\b)|\bNDMM\b|\bRRMM\b",
        "MM incl. smouldering/extramedullary myeloma and plasma-cell myeloma; 'MM' only in upper case "
        "(not '5 mm'). Masks 'myeloma antigen' (a CAR target name).",
        mask=r"myeloma\s+antigen|\bKMA\b",
    ),
    Rule(
        HAEM,
        "plasma-cell neoplasms",
        "plasma-cell leukaemia",
        r"plasma[\s-]*cell\s+" + LEUK + r"|" + LEUK + r",\s*plasma[\s-]*cell|(?-i:\bp?PCL\b)",
        "PCL is a plasma-cell neoplasm; 'PCL' only in upper case.",
    ),
    Rule(
        HAEM,
        "plasma-cell neoplasms",
        "AL amyloidosis",
        r"\bAL\b[\s)-]*amyloid\w*|light[\s-]*chain\s+(?:\(AL\)\s+)?amyloid\w*|primary\s+(?:systemic\s+)?amyloid\w*"
        r"|amyloidosis,?\s*\(?(?:AL|light)|\bamyloidos[ie]s",
        "AL amyloidosis is a plasma-cell disorder (BCMA/CD38 CAR targets the clone): haematological. "
        "Bare 'amyloidosis' in these trials is AL; ATTR/AA/hereditary forms are masked (other "
        "non-oncology).",
        mask=r"(?:transthyretin|\bATTR\w*|\bAA\b|hereditary|familial|wild[\s-]*type|senile)[^,;|]{0,20}amyloid\w*"
        r"|amyloid\w*[^,;|]{0,10}(?:transthyretin|\bATTR\w*)",
    ),
    Rule(HAEM, "plasma-cell neoplasms", "POEMS syndrome", r"\bPOEMS\b", "POEMS is a plasma-cell disorder."),
    Rule(
        HAEM,
        "plasma-cell neoplasms",
        "plasmacytoma / MGUS-related",
        r"plasmacytoma|monoclonal\s+gammopath\w*|monoclonal\s+immunoglobulin\s+deposit|\bMGUS\b|\bMGRS\b",
        "Plasmacytoma and monoclonal gammopathies (incl. of renal significance, PGNMID): plasma-cell "
        "disorders, not glomerulonephritis.",
    ),
    Rule(
        HAEM,
        "plasma-cell neoplasms",
        None,
        r"plasma[\s-]*cell\s+(?:neoplas\w*|dyscrasia\w*|disorders?|malignan\w*|tumou?rs?|diseases?)"
        r"|neoplasms?,\s*plasma[\s-]*cell|paraprotein[a]?emi\w*",
        "Generic plasma-cell neoplasm; 'plasmacytoid' (BPDCN, plasmacytoid lymphoma) never matches.",
    ),
    # ---- Hodgkin ---------------------------------------------------------------------------
    Rule(
        HAEM,
        "Hodgkin lymphoma",
        "Hodgkin lymphoma",
        r"hodgkin|\bcHL\b|(?-i:\bHL\b)",
        "Hodgkin lymphoma; 'non-Hodgkin' and 'NHL' are masked first so non-Hodgkin lymphoma never gives "
        "Hodgkin.",
        mask=_NON_HODGKIN,
    ),
    # ---- T- and NK-cell malignancies -------------------------------------------------------
    Rule(
        HAEM,
        "T-cell malignancies",
        "T-ALL / T-LBL",
        _T_ALL,
        "T-lineage lymphoblastic leukaemia/lymphoma incl. ETP-ALL.",
    ),
    Rule(
        HAEM,
        "T-cell malignancies",
        "PTCL",
        r"peripheral\s+t[\s-]*cell|(?-i:\bPTCL\w*)|angioimmunoblastic|(?-i:\bAITL\b)|anaplastic\s+large[\s-]*cell"
        r"|(?-i:\bALCL\b)|enteropathy[\s-]*(?:associated|type)|(?-i:\bEATL\b)|(?-i:\bMEITL\b)|hepatosplenic"
        r"|nodal\s+t[\s-]*cell|follicular\s+helper|(?-i:\bTFH\b)|lymphoma,\s*t[\s-]*cell,\s*peripheral"
        r"|lymphoma,\s*large[\s-]*cell,\s*anaplastic|monomorphic\s+epitheliotropic|subcutaneous\s+panniculitis",
        "PTCL and its subtypes (AITL, ALCL, EATL, MEITL, hepatosplenic, nodal TFH).",
    ),
    Rule(
        HAEM,
        "T-cell malignancies",
        "CTCL",
        r"cutaneous\s+t[\s-]*cell|(?-i:\bCTCL\b)|mycosis\s+fungoides|s[eé]zary|lymphoma,\s*t[\s-]*cell,\s*cutaneous"
        r"|lymphomatoid\s+papulosis|primary\s+cutaneous\s+(?:gamma|γ|cd30|anaplastic|cd4|cd8|aggressive)",
        "Cutaneous T-cell lymphoma incl. mycosis fungoides (never a fungal infection) and Sézary.",
    ),
    Rule(
        HAEM,
        "T-cell malignancies",
        "NK/T-cell lymphoma",
        r"\bnk\s*/\s*t(?:[\s-]*cells?)?[\s-]+(?:non[\s-]*hodgkin'?s?\s+)?lymphomas?|\bnk[\s/-]+t[\s-]*cells?\s+lymphoma"
        r"|natural\s+killer\s*/\s*t[\s-]*cells?\s+lymphoma|extranodal\s+nk"
        r"|(?-i:\bENKTC?L\b)|(?-i:\bNKTCL\b)|nasal[\s-]*type",
        "NK/T-cell lymphoma is a disease (T-cell malignancies), never an NK or NKT cell product. The "
        "slash form needs 'lymphoma' after it: 'BiCAR-NK/T cells' and 'NKT cells' are products.",
    ),
    Rule(
        HAEM,
        "T-cell malignancies",
        "ATLL",
        r"adult\s+t[\s-]*cell\s+(?:"
        + LEUK
        + r"|lymphoma)|(?-i:\bATLL?\b)|"
        + LEUK
        + r"[\s-]*lymphoma,\s*adult\s+t[\s-]*cell",
        "Adult T-cell leukaemia/lymphoma (HTLV-1 driven: a malignancy, not an infection).",
    ),
    Rule(
        HAEM,
        "T-cell malignancies",
        "T-PLL",
        r"\bt[\s-]*(?:cell\s+)?prolymphocytic|(?-i:\bT-?PLL\b)",
        "T-cell prolymphocytic leukaemia.",
    ),
    Rule(
        HAEM,
        "T-cell malignancies",
        "NK-cell / LGL leukaemia",
        r"(?:nk|natural\s+killer)[\s-]*cells?\s+(?:"
        + LEUK
        + r"|neoplas\w*|malignan\w*)|large\s+granular\s+lymphocyt\w*"
        r"|(?-i:\bLGLL?\b)",
        "NK-cell and large-granular-lymphocyte leukaemias: a disease named after NK cells, not an NK "
        "product.",
    ),
    Rule(
        HAEM,
        "T-cell malignancies",
        None,
        r"\bt[\s-]*cells?(?:[\s-]+derived)?\s+(?:non[\s-]*hodgkin'?s?\s+)?(?:lymphomas?|malignan\w*|neoplas\w*|"
        + LEUK
        + r"|tumou?rs?|h[a]?ematolog\w*)|(?-i:\bT-?NHL\b)|lymphomas?,\s*t[\s-]*cell|\bt[\s-]*lymphomas?"
        r"|" + LEUK + r",\s*t[\s-]*cell"
        r"|\bcd[57][\s+-]*(?:positive\s+)?(?:t[\s-]*cell(?:[\s-]+derived)?\s+)?(?:malignant\s+)?(?:malignan\w*|neoplas\w*|h[a]?ematolog\w*|tumou?rs?"
        r"|" + LEUK + r"|lymphomas?)|t[\s-]*lineage|(?-i:\bTCL\b)",
        "Generic T-cell malignancy (incl. CD5+/CD7+ haematological malignancies, the T-cell CAR "
        "targets), kept only when no specific T/NK entity is named.",
        mask=r"\bt[\s-]*cell\s*/\s*histiocyte[\w\s-]*",
    ),
    # ---- Myeloid ---------------------------------------------------------------------------
    Rule(
        HAEM,
        "AML",
        "AML",
        r"acute\s+myel\w*\s+"
        + LEUK
        + r"|acute\s+non[\s-]*lympho\w*\s+"
        + LEUK
        + r"|\bANLL\b|\bAML\b|\b[rR]/?[rR]?AML\b"
        r"|" + LEUK + r",\s*myel\w*,\s*acute|acute\s+myelo(?:id|genous|blastic|monocytic)"
        r"|acute\s+(?:monocytic|monoblastic|megakaryoblastic|erythroid|promyelocytic)\s+"
        + LEUK
        + r"|(?-i:\bAPL\b)|myeloid\s+sarcoma|granulocytic\s+sarcoma|chloroma",
        "AML incl. APL and myeloid sarcoma (a sarcoma in name only). 'AML' needs word boundaries, so "
        "it never fires inside a word.",
    ),
    Rule(HAEM, "MDS", "MDS", r"myelodysplas\w*|(?-i:\bMDS\b)", "Myelodysplastic syndromes / neoplasms."),
    Rule(
        HAEM,
        "CML",
        "CML",
        r"chronic\s+myel\w*\s+" + LEUK + r"|(?-i:\bCML\b)|" + LEUK + r",\s*myel\w*,\s*chronic",
        "CML. 'Philadelphia'/'BCR-ABL' are not used: Ph+ ALL is B-ALL.",
        mask=r"chronic\s+myelomonocytic",
    ),
    Rule(
        HAEM,
        "other myeloid neoplasms",
        "BPDCN",
        r"blastic\s+plasmacytoid|(?-i:\bBPDCN\b)",
        "Blastic plasmacytoid dendritic cell neoplasm.",
    ),
    Rule(
        HAEM,
        "other myeloid neoplasms",
        "MPN / CMML / other myeloid",
        r"myeloproliferative|myelofibrosis|polycyth[a]?emia\s+vera|essential\s+thrombocyth\w*|(?-i:\bMPN\b)"
        r"|chronic\s+myelomonocytic|(?-i:\bCMML\b)|juvenile\s+myelomonocytic|(?-i:\bJMML\b)|eosinophilic\s+"
        + LEUK
        + r"|mastocytosis|mast[\s-]*cell\s+"
        + LEUK
        + r"|langerhans[\s-]*cell\s+histiocytosis"
        r"|histiocytic\s+sarcoma|dendritic[\s-]*cell\s+sarcoma",
        "Myeloid neoplasms other than AML/MDS/CML.",
    ),
    Rule(
        HAEM,
        "myeloid neoplasms (unspecified)",
        None,
        r"myelo(?:id|genous)\s+(?:" + LEUK + r"|malignan\w*|neoplas\w*|tumou?rs?|h[a]?ematolog\w*)"
        r"|" + LEUK + r",\s*myel\w*\s*$",
        "Myeloid leukaemia/malignancy with no subtype.",
        mask=r"(?:acute|chronic)\s+myel\w*",
        covers=("AML", "MDS", "CML", "other myeloid neoplasms"),
    ),
    # ---- Generic haematological ------------------------------------------------------------
    Rule(
        HAEM,
        "B-cell malignancies (unspecified)",
        None,
        r"\bb[\s-]*(?:cell|lineage|lymphoid|lymphocyte)s?[\s-]+(?:derived\s+)?(?:h[a]?ematolog\w*\s+|lymphoid\s+)?"
        + HM
        + r"|\bb[\s-]*(?:cell|lineage)s?[\s-]+"
        + LEUK
        + r"|"
        + LEUK
        + r",\s*b[\s-]*cell"
        r"|\bcd(?:19|20|22)\b[\s+-]*(?:positive\s+|expressing\s+|\+\s*)?(?:b[\s-]*cell\s+)?(?:"
        + HM
        + r"|lymphoid\s+\w+|"
        + LEUK
        + r"|lymphomas?)"
        r"|\bb[\s-]*cell\s+(?:h[a]?ematolog\w*|lymphoid)\s+(?:malignan|neoplas|tumou?r|disease)\w*",
        "B-cell malignancy/leukaemia with no entity (incl. 'CD19+ malignancies'). Needs a malignancy "
        "word after 'B-cell', so 'B-cell depletion'/'B-cell mediated' (autoimmune) never match.",
        covers=("B-cell lymphoma", "acute lymphoblastic leukaemia", "plasma-cell neoplasms"),
    ),
    Rule(
        HAEM,
        "lymphoma (unspecified)",
        None,
        r"\blymphomas?\b|" + _NON_HODGKIN + r"|lymphoproliferative|immunoproliferative|(?-i:\bLNH\b)",
        "Lymphoma / NHL / lymphoproliferative disorder with no entity.",
        mask=r"lympho(?:blastic|id)\s+(?:" + LEUK + r"\s*/\s*)?lymphoma",
        covers=(
            "B-cell lymphoma",
            "T-cell malignancies",
            "Hodgkin lymphoma",
            "acute lymphoblastic leukaemia",
            "B-cell malignancies (unspecified)",
        ),
    ),
    Rule(
        HAEM,
        "leukaemia (unspecified)",
        None,
        r"\b" + LEUK + r"|acute\s+leuka?emi\w*",
        "Leukaemia / acute leukaemia with no lineage.",
        covers=(
            "acute lymphoblastic leukaemia",
            "AML",
            "CML",
            "MDS",
            "B-cell lymphoma",
            "T-cell malignancies",
            "plasma-cell neoplasms",
            "other myeloid neoplasms",
            "myeloid neoplasms (unspecified)",
            "B-cell malignancies (unspecified)",
        ),
    ),
    Rule(
        HAEM,
        "haematological malignancy (unspecified)",
        None,
        r"h[a]?ematolog\w*\s+(?:and\s+lymphoid\s+)?(?:malignan\w*|neoplas\w*|cancers?|tumou?rs?)"
        r"|h[a]?ematopoietic(?:\s*/\s*|\s+and\s+|\s+)(?:lymph\w*\s+)?(?:cell\s+|system\s+|tissue\s+)?(?:cancers?|malignan\w*|neoplas\w*)"
        r"|\bheme\s+malignan\w*"
        r"|lymphoid\s+(?:malignan\w*|neoplas\w*|cancers?)|blood\s+cancers?|liquid\s+tumou?rs?"
        r"|h[a]?ematologic\s+(?:cancer|malignan)\w*|neoplasms?,\s*h[a]?ematologic\w*",
        "Haematological malignancy with no entity. 'Hematologic diseases' (which include ITP and AIHA) "
        "is not enough.",
        covers=AREA_WIDE,
    ),
)

# --------------------------------------------------------------------------------------------
# Solid tumours
# --------------------------------------------------------------------------------------------
_DIPG = (
    r"pontine\s+glioma|(?-i:\bDIPG\b)|midline\s+glioma|(?-i:\bDMG\b)|h3\s*k27m?|diffuse\s+midline"
    r"|brain[\s-]*stem\s+glioma"
)
_GBM = r"glioblastoma|(?-i:\bGBM\b)|grade\s+(?:iv|4)\s+(?:astrocytoma|glioma)|gliosarcoma"
_GIST = r"gastrointestinal\s+stromal|(?-i:\bGIST\b)"
_METASTATIC_TO = (
    r"(?:metasta\w*|secondary)\s+(?:to\s+(?:the\s+)?)?(?:liver|lung|brain)|(?:liver|lung)\s+metasta\w*"
)

SOLID_RULES: tuple[Rule, ...] = (
    # ---- CNS -------------------------------------------------------------------------------
    Rule(
        SOLID,
        "CNS tumours",
        "glioblastoma",
        _GBM,
        "GBM incl. WHO grade 4 astrocytoma and gliosarcoma; 'anti-GBM disease' (glomerular basement "
        "membrane) is masked.",
        mask=r"anti[\s-]*GBM\w*",
    ),
    Rule(SOLID, "CNS tumours", "DIPG / DMG", _DIPG, "Diffuse midline glioma H3 K27-altered, incl. DIPG."),
    Rule(
        SOLID,
        "CNS tumours",
        "glioma",
        r"glioma|astrocytoma|oligodendroglioma|(?-i:\bHGG\b)|glial\s+tumou?r",
        "Other gliomas; DIPG/DMG and GBM phrases are masked (own entities). 'Glioblastoma' does not "
        "contain 'glioma'.",
        mask=_DIPG + "|" + _GBM,
    ),
    Rule(SOLID, "CNS tumours", "medulloblastoma", r"medulloblastoma", "Embryonal CNS tumour."),
    Rule(
        SOLID,
        "CNS tumours",
        "ependymoma",
        r"ependymoma|ependymal\s+tumou?r",
        "Glial CNS tumour with its own entity.",
    ),
    Rule(
        SOLID,
        "CNS tumours",
        "other CNS embryonal tumour",
        r"atypical\s+teratoid|(?-i:\bAT/?RT\b)|embryonal\s+tumou?r\s+with\s+multilayered|(?-i:\bETMR\b)"
        r"|pineoblastoma|(?:cns|central\s+nervous\s+system)\s+embryonal|primitive\s+neuroectodermal|(?-i:\bc?PNET\b)",
        "ATRT, ETMR, pineoblastoma, PNET: CNS tumours (ATRT is not a soft-tissue rhabdoid tumour; "
        "'PNET' in these trials is the CNS embryonal tumour, peripheral PNET being Ewing sarcoma).",
    ),
    Rule(SOLID, "CNS tumours", "meningioma", r"meningioma", "Meningioma."),
    Rule(
        SOLID,
        "CNS tumours",
        None,
        r"(?:brain|cns|central\s+nervous\s+system|intracranial|spinal\s+cord)\s*(?:\([^)]*\)\s*)?"
        r"(?:and\s+(?:spinal\s+cord|central\s+nervous\s+system|cns)\s+)?(?:tumou?rs?|neoplasms?|cancers?|malignan\w*"
        r"|metasta\w*)|brain\s+metasta\w*|leptomening\w*|metasta\w*[^,;|]{0,30}?\s(?:in|to)\s+(?:the\s+)?(?:brain|cns)\b|neoplasms?,\s*(?:brain|central\s+nervous)|neuro[\s-]*oncolog\w*"
        r"|metasta\w*\s+(?:to\s+(?:the\s+)?)?(?:brain|cns)",
        "Brain/CNS tumour or metastasis with no entity. Needs a tumour word, so 'CNS lymphoma', 'CNS "
        "leukaemia' and 'CNS pathology' never match.",
    ),
    Rule(
        SOLID,
        "neuroblastoma",
        "neuroblastoma",
        r"neuroblastoma",
        "Own category: an extracranial neural-crest tumour (peripheral nervous system), neither CNS "
        "nor sarcoma. Ganglioneuroblastoma included.",
    ),
    # ---- GI --------------------------------------------------------------------------------
    Rule(
        SOLID,
        "gastrointestinal",
        "gastric / GEJ cancer",
        r"(?:gastric|stomach|gastro[\s-]*o?esophageal(?:\s+junction)?|o?esophago[\s-]*gastric\s+junction|\bGEJ?\b)"
        + WIN
        + CA
        + r"|neoplasms?,\s*stomach|(?-i:\bGEJ\b)|\bgastric\s+(?:and|or|/)|^gastric$|"
        + OF
        + r"stomach",
        "Gastric and gastro-oesophageal junction cancer; needs a cancer word, so 'gastric MALT "
        "lymphoma' is a lymphoma and GIST is a sarcoma.",
        mask=_GIST + r"|gastroenteropancreatic|gastrointestinal",
    ),
    Rule(
        SOLID,
        "gastrointestinal",
        "oesophageal cancer",
        r"o?esophag\w*" + WIN + CA + r"|neoplasms?,\s*o?esophag\w*|(?-i:\bESCC\b)",
        "Oesophageal cancer; 'gastro-oesophageal junction' is masked (gastric/GEJ entity).",
        mask=r"gastro[\s-]*o?esophag\w*(?:\s+junction)?|o?esophago[\s-]*gastric\s+junction",
    ),
    Rule(
        SOLID,
        "gastrointestinal",
        "colorectal cancer",
        r"\b(?:colorectal|colon|colonic|rectal|rectum|bowel|intestin\w*)"
        + WIN
        + CA
        + r"|(?-i:\bm?CRC\b)|colorectal|neoplasms?,\s*(?:colorectal|colonic|rectal)",
        "Colorectal cancer; 'Non-Hodgkin lymphoma of intestine' has no cancer word and stays a lymphoma; "
        "'gastrointestinal tumours' is GI (word boundary before 'intestin').",
    ),
    Rule(
        SOLID,
        "gastrointestinal",
        "pancreatic cancer",
        r"pancrea\w*" + WIN + CA + r"|(?-i:\bPDAC\b)|neoplasms?,\s*pancrea\w*|" + OF + r"pancreas",
        "Pancreatic (exocrine) cancer; pancreatic neuroendocrine and GEP-NEN are masked (neuroendocrine).",
        mask=r"gastroenteropancreatic|pancreatic\s+(?:neuroendocrine|NET|NEC|islet)\w*",
    ),
    Rule(
        SOLID,
        "gastrointestinal",
        "biliary tract cancer",
        r"cholangio\w*|biliary"
        + WIN
        + CA
        + r"|bile\s+duct"
        + WIN
        + CA
        + r"|gall[\s-]*bladder"
        + WIN
        + CA
        + r"|(?-i:\bBTC\b)",
        "Cholangiocarcinoma and gallbladder cancer (GI category; liver is HCC-type).",
    ),
    Rule(SOLID, "gastrointestinal", "anal cancer", r"\banal\b" + WIN + CA, "Anal cancer."),
    Rule(
        SOLID,
        "gastrointestinal",
        None,
        r"(?:gastrointestinal|digestive|\bGI\b|gastro[\s-]*intestinal|alimentary)"
        + WIN
        + CA
        + r"|"
        + OF
        + r"digestive",
        "GI cancer with no organ; GIST is masked (sarcoma).",
        mask=_GIST,
    ),
    # ---- Liver -----------------------------------------------------------------------------
    Rule(
        SOLID,
        "liver",
        "hepatocellular carcinoma",
        r"hepatocellular|(?-i:\bHCC\b)|hepatoma|liver[\s-]*cell\s+(?:carcinoma|cancer)|fibrolamellar",
        "HCC incl. fibrolamellar.",
    ),
    Rule(SOLID, "liver", "hepatoblastoma", r"hepatoblastoma", "Paediatric liver tumour."),
    Rule(
        SOLID,
        "liver",
        None,
        r"(?:liver|hepatic)\s+(?:cancers?|carcinomas?|tumou?rs?|neoplasms?|malignan\w*)"
        r"|(?:cancer|carcinoma|tumou?r|neoplasm)s?\s+of\s+(?:the\s+)?liver|neoplasms?,\s*liver|primary\s+liver",
        "Liver cancer with no entity; liver metastases of other cancers are masked.",
        mask=_METASTATIC_TO,
    ),
    # ---- Lung / thorax ---------------------------------------------------------------------
    Rule(
        SOLID,
        "lung",
        "NSCLC",
        r"non[\s-]*small[\s-]*cells?|(?-i:\bNSCLC\b)|lung\s+(?:adeno|squamous)\w*"
        r"|(?:adenocarcinoma|squamous[\s-]*cell\s+carcinoma)\s+of\s+(?:the\s+)?lung|carcinoma,\s*non[\s-]*small"
        r"|large[\s-]*cell\s+lung|squamous[\s-]*cell\s+lung",
        "NSCLC incl. lung adenocarcinoma / squamous cell carcinoma of the lung.",
    ),
    Rule(
        SOLID,
        "lung",
        "SCLC",
        r"small[\s-]*cell\s+lung|\bSCLC\b|small[\s-]*cell\s+(?:carcinoma|cancer)\s+of\s+(?:the\s+)?lung"
        r"|lung\s+(?:cancer,?\s*|carcinoma,?\s*)?small[\s-]*cell|oat[\s-]*cell",
        "SCLC; 'non-small cell' and 'NSCLC' are masked (word boundaries alone would not protect "
        "'non-small cell lung').",
        mask=r"non[\s-]*small[\s-]*cells?|\bnon[\s-]*SCLC\b",
    ),
    Rule(
        SOLID,
        "lung",
        None,
        r"\blungs?\b"
        + WIN
        + CA
        + r"|pulmonary\s+(?:carcinoma|cancer|neoplasm|malignan)\w*|neoplasms?,\s*lung"
        r"|bronch\w*\s+(?:carcinoma|cancer)",
        "Lung cancer with no entity; lung metastases of other cancers are masked.",
        mask=_METASTATIC_TO,
    ),
    Rule(
        SOLID,
        "thoracic (pleura, thymus)",
        "mesothelioma",
        r"mesothelioma",
        "Pleural/peritoneal mesothelioma.",
    ),
    Rule(
        SOLID,
        "thoracic (pleura, thymus)",
        "thymic epithelial tumour",
        r"thymoma|thym(?:ic|us)\s+(?:epithelial\s+)?(?:carcinoma|cancer|tumou?r|neoplasm|malignan)\w*",
        "Thymoma / thymic carcinoma; needs a tumour word so 'Primary Mediastinal (Thymic) Large B-Cell "
        "Lymphoma' never matches.",
    ),
    # ---- Breast / gynaecological -----------------------------------------------------------
    Rule(
        SOLID,
        "breast",
        "breast cancer",
        r"breast" + WIN + CA + r"|(?-i:\bTNBC\b)|(?:neoplasms?|tumou?rs?),\s*breast"
        r"|mammary\s+(?:carcinoma|cancer|neoplasm|tumou?r)\w*|triple[\s-]*negative|" + OF + r"breast",
        "Breast cancer incl. TNBC; breast-implant-associated ALCL is masked (a lymphoma).",
        mask=r"breast\s+implant[\w\s-]*",
    ),
    Rule(
        SOLID,
        "gynaecological",
        "ovarian cancer",
        r"ovar\w*" + WIN + CA + r"|fallopian|primary\s+peritoneal|neoplasms?,\s*ovar\w*|(?-i:\bH?G?S?EOC\b)",
        "Epithelial ovarian, fallopian-tube and primary peritoneal cancer (one disease).",
    ),
    Rule(
        SOLID,
        "gynaecological",
        "cervical cancer",
        r"cervi(?:x|cal)" + WIN + CA + r"|uterine\s+cervi\w*" + WIN + CA,
        "Cervical cancer; needs a cancer word ('cervical spine', 'cervical lymph node' do not match).",
    ),
    Rule(
        SOLID,
        "gynaecological",
        "endometrial / uterine cancer",
        r"endometri\w*" + WIN + CA + r"|uter(?:ine|us)" + WIN + CA,
        "Endometrial/uterine cancer; cervix is masked; endometriosis has no cancer word.",
        mask=r"uterine\s+cervi\w*",
    ),
    Rule(
        SOLID,
        "gynaecological",
        None,
        r"gyn[a]?ecolog\w*" + WIN + CA + r"|vulva\w*" + WIN + CA + r"|vagina\w*" + WIN + CA,
        "Gynaecological cancer with no entity.",
    ),
    # ---- Genitourinary / germ cell ---------------------------------------------------------
    Rule(
        SOLID,
        "genitourinary",
        "prostate cancer",
        r"prosta\w*" + WIN + CA + r"|(?-i:\bm?CRPC\b)|neoplasms?,\s*prosta\w*",
        "Prostate cancer; neuroendocrine prostate cancer is masked (neuroendocrine category).",
        mask=r"neuroendocrine\s+prosta\w*[\w\s]*|(?-i:\bNEPC\b)",
    ),
    Rule(
        SOLID,
        "genitourinary",
        "renal cell carcinoma",
        r"renal" + WIN + CA + r"|kidney" + WIN + CA + r"|(?-i:\b(?:cc|nc)?RCC\b)|neoplasms?,\s*kidney",
        "Kidney cancer; Wilms tumour is masked (own entity); 'renal insufficiency' has no cancer word.",
        mask=r"wilms[\w\s'-]*|nephroblastoma",
    ),
    Rule(
        SOLID,
        "genitourinary",
        "Wilms tumour",
        r"wilms|nephroblastoma",
        "Paediatric kidney tumour (genitourinary category).",
    ),
    Rule(
        SOLID,
        "genitourinary",
        "bladder / urothelial cancer",
        r"bladder" + WIN + CA + r"|urothelial|transitional[\s-]*cell\s+carcinoma|(?-i:\bUTUC\b)",
        "Urothelial cancer.",
    ),
    Rule(
        SOLID,
        "genitourinary",
        None,
        r"urolog\w*"
        + WIN
        + CA
        + r"|genitourinary"
        + WIN
        + CA
        + r"|urogenital"
        + WIN
        + CA
        + r"|penile\s+cancer"
        r"|genital\s+neoplasms",
        "Urological cancer with no entity.",
    ),
    Rule(
        SOLID,
        "germ cell tumours",
        "germ cell tumour",
        r"germ[\s-]*cell\s+(?:tumou?rs?|cancers?|neoplasms?|malignan\w*)|yolk[\s-]*sac|testi(?:s|cular)"
        + WIN
        + CA
        + r"|seminoma|choriocarcinoma|embryonal\s+carcinoma|dysgerminoma|teratoma",
        "Gonadal and extragonadal germ cell tumours; 'atypical teratoid' (ATRT, CNS) is masked.",
        mask=r"atypical\s+teratoid",
    ),
    # ---- Skin ------------------------------------------------------------------------------
    Rule(
        SOLID,
        "skin",
        "melanoma",
        r"melanoma",
        "Cutaneous, uveal, mucosal melanoma; 'melanoma antigen' (MAGE, a target) is masked.",
        mask=r"melanoma[\s-]*(?:associated\s+)?antigen\w*",
    ),
    Rule(SOLID, "skin", "Merkel cell carcinoma", r"merkel", "Merkel cell carcinoma."),
    Rule(
        SOLID,
        "skin",
        "non-melanoma skin cancer",
        r"cutaneous\s+squamous|skin\s+(?:cancer|carcinoma|squamous)\w*|basal[\s-]*cell\s+carcinoma|(?-i:\bcSCC\b)",
        "Cutaneous SCC / BCC; 'Melanoma (Skin Cancer)' is a melanoma (vetoed).",
        unless=r"melanoma",
    ),
    # ---- Sarcoma ---------------------------------------------------------------------------
    Rule(SOLID, "sarcoma", "osteosarcoma", r"osteosarcoma|osteogenic\s+sarcoma", "Bone sarcoma."),
    Rule(SOLID, "sarcoma", "Ewing sarcoma", r"\bewing", "Ewing sarcoma family."),
    Rule(
        SOLID,
        "sarcoma",
        "rhabdomyosarcoma",
        r"rhabdomyosarcoma",
        "Long form only: 'RMS' also means relapsing multiple sclerosis.",
    ),
    Rule(SOLID, "sarcoma", "liposarcoma", r"liposarcoma", "Liposarcoma incl. myxoid/round cell."),
    Rule(
        SOLID,
        "sarcoma",
        "synovial sarcoma",
        r"synovial\s+sarcoma",
        "Synovial sarcoma (NY-ESO-1/MAGE-A4 TCR-T).",
    ),
    Rule(SOLID, "sarcoma", "GIST", _GIST, "GIST is a sarcoma, not a GI carcinoma."),
    Rule(
        SOLID,
        "sarcoma",
        "rhabdoid tumour / DSRCT",
        r"rhabdoid|desmoplastic\s+small\s+round",
        "Extracranial rhabdoid tumour and DSRCT; ATRT is masked (CNS).",
        mask=r"atypical\s+teratoid[\s/-]*rhabdoid[\w\s-]*|(?-i:\bAT/?RT\b)",
    ),
    Rule(
        SOLID,
        "sarcoma",
        None,
        r"\b\w*sarcomas?\b|soft[\s-]*tissue\s+(?:tumou?r|neoplasm|cancer|malignan)\w*|peripheral\s+nerve\s+sheath|(?-i:\bMPNST\b)",
        "Sarcoma with no entity; myeloid/granulocytic sarcoma (AML), histiocytic/dendritic-cell "
        "sarcoma (myeloid) and gliosarcoma (GBM) are masked.",
        mask=r"gliosarcoma|(?:myeloid|granulocytic|histiocytic|dendritic[\s-]*cell|follicular\s+dendritic)\s+sarcoma",
    ),
    # ---- Head and neck ---------------------------------------------------------------------
    Rule(
        SOLID,
        "head and neck",
        "nasopharyngeal carcinoma",
        r"nasopharyn\w*" + WIN + CA + r"|(?-i:\bNPC\b)|neoplasm\s+of\s+nasopharynx",
        "NPC (EBV-positive NPC is a carcinoma, not an EBV infection).",
    ),
    Rule(
        SOLID,
        "head and neck",
        "head and neck cancer",
        r"head\s+(?:and|&)\s+neck|(?-i:\bHNSCC\b)|(?-i:\bSCCHN\b)|oral\s+(?:cavity\s+)?(?:cancer|carcinoma|squamous)\w*"
        r"|oropharyn\w*"
        + WIN
        + CA
        + r"|laryn\w*"
        + WIN
        + CA
        + r"|hypopharyn\w*"
        + WIN
        + CA
        + r"|tongue\s+(?:cancer|carcinoma)|salivary"
        + WIN
        + CA
        + r"|"
        + OF
        + r"salivary|acinic[\s-]*cell",
        "Head and neck SCC and other non-nasopharyngeal H&N cancers.",
    ),
    Rule(
        SOLID, "head and neck", "thyroid cancer", r"thyroid" + WIN + CA, "Thyroid cancer (incl. anaplastic)."
    ),
    Rule(
        SOLID,
        "eye",
        "retinoblastoma",
        r"retinoblastoma",
        "Paediatric eye tumour (own category; uveal melanoma stays melanoma).",
    ),
    Rule(
        SOLID,
        "endocrine organs",
        "adrenocortical carcinoma",
        r"adrenocortical|adrenal\s+(?:cortical\s+)?(?:cancer|carcinoma)",
        "Adrenal cortex cancer (phaeochromocytoma is neuroendocrine).",
    ),
    # ---- Neuroendocrine --------------------------------------------------------------------
    Rule(
        SOLID,
        "neuroendocrine",
        "neuroendocrine neoplasm",
        r"neuroendocrine|(?-i:\b(?:EP-|GEP[\s-]*)?NECs?\b)|(?-i:\b(?:GEP-)?NETs?\b)|carcinoid|pheochromocytoma"
        r"|paraganglioma",
        "NET/NEC of any site (incl. neuroendocrine prostate, GEP-NEN): one histology across organs. "
        "SCLC stays lung (own entity).",
    ),
    # ---- Generic solid ---------------------------------------------------------------------
    Rule(
        SOLID,
        SOLID_UNSPECIFIED,
        PAN_TUMOUR,
        r"pan[\s-]*(?:tumou?r|cancer)|tumou?r[\s-]*agnostic|histology[\s-]*(?:agnostic|independent)"
        r"|tissue[\s-]*agnostic|\bbasket\s+(?:trial|study)|multiple\s+(?:solid\s+)?tumou?r\s+types"
        r"|(?:any|all)\s+solid\s+tumou?rs?",
        "An explicitly tumour-agnostic / multi-histology design: always a basket.",
    ),
    Rule(
        SOLID,
        SOLID_UNSPECIFIED,
        None,
        r"solid\s+(?:tumou?r|malignan|cancer|neoplas|carcinoma)\w*|\bcarcinomas?\b|adenocarcinoma\w*"
        r"|epithelial\s+(?:cancer|tumou?r|malignan)\w*|metasta\w*\s+(?:solid|cancers?|carcinomas?|tumou?rs?)"
        r"|advanced\s+solid|peritone\w*\s+(?:carcinomatosis|metasta\w*|carcinoma\w*)|peritoneal\s+surface\s+malignan\w*"
        r"|malignant\s+(?:pleural|peritoneal)\s+effusions?|pleural\s+effusions?,\s*malignant|malignant\s+ascites"
        r"|liver\s+metasta\w*|squamous[\s-]*cell\s+carcinoma|tumou?rs?,\s*solid|carcinomatosis|pleural\s+metasta\w*"
        r"|serous\s+cavity|malignant\s+pleural\s+disease|peritone\w*\s*(?:\([^)]*\)\s*)?(?:cancer|tumou?r|neoplasm)s?"
        r"|metasta\w*\s+(?:liver|lung|bone)\s+(?:cancer|tumou?r|carcinoma|disease)s?"
        r"|\b(?:her[\s-]*2|egfr|epha2|mesothelin|msln|gpc3|cldn18\.?2|claudin[\s-]*18\.?2)\b[\s-]*(?:protein\s+|gene\s+)?"
        r"(?:overexpression|amplification|amplified|positive\s+(?:solid|disease))"
        r"|\b(?:psma|her2|erbb2|gpc3|mesothelin|msln|claudin[\s-]*18\.?2|cldn18\.?2|gd2|b7[\s-]*h3|cd276|egfr(?:viii)?"
        r"|muc1|muc16|cea|epcam|dll3|hla[\s-]*g|trop[\s-]*2|nectin[\s-]*4|gucy2c|cdh17|il[\s-]*13r\w*|ny[\s-]*eso[\s-]*1"
        r"|mage[\s-]*a4)\b[\s+-]*(?:positive|expressing|overexpressing|high)?\s*(?:advanced\s+|solid\s+|malignant\s+"
        r"|refractory\s+|relapsed\s+|metastatic\s+)*(?:tumou?rs?|cancers?|malignan\w*|neoplasms?|carcinomas?)",
        "Solid tumour with no organ: 'solid tumours', carcinoma, adenocarcinoma, malignant effusions, "
        "peritoneal metastases, and tumours defined by a solid-tumour antigen ('HER2-positive "
        "malignancies', 'PSMA-positive tumours'; haem antigens such as CD19/CD7/BCMA are not in the "
        "list). Primary peritoneal carcinoma is masked (ovarian).",
        mask=r"primary\s+peritoneal\s+\w+",
        covers=AREA_WIDE,
    ),
)

# --------------------------------------------------------------------------------------------
# Autoimmune / immune-mediated
# --------------------------------------------------------------------------------------------
AUTO_RULES: tuple[Rule, ...] = (
    Rule(
        AUTO,
        "lupus",
        "SLE",
        r"lupus|(?-i:\bSLE\b)",
        "SLE (incl. typos such as 'erythenlatosus'); lupus nephritis and cutaneous lupus are masked "
        "(own entities).",
        mask=r"lupus[\w\s,()-]*?nephritis|(?-i:\bSLE\b)\s+nephritis|(?:cutaneous|discoid)\s+lupus[\w\s]*"
        r"|lupus\s+(?:anticoagulant|erythematosus,\s*cutaneous)",
    ),
    Rule(
        AUTO,
        "lupus",
        "lupus nephritis",
        r"lupus[\w\s,()-]*?nephritis|(?-i:\bSLE\b)\s+nephritis|(?-i:\bLN\b)|immune\s+nephritis",
        "Lupus nephritis (renal SLE); 'LN' only in upper case.",
    ),
    Rule(
        AUTO,
        "lupus",
        "cutaneous lupus",
        r"(?:cutaneous|discoid)\s+lupus|(?-i:\bCLE\b)",
        "Skin-limited lupus.",
    ),
    Rule(
        AUTO,
        "systemic sclerosis",
        "systemic sclerosis",
        r"systemic\s+sclerosis|scleroderma|(?-i:\bd?c?SSc\b)|sclerosis,\s*systemic",
        "SSc; 'multiple sclerosis' does not match; 'SSc' case-sensitive.",
    ),
    Rule(
        AUTO, "myositis", "dermatomyositis", r"dermatomyositis", "DM (long form only: 'DM' is also diabetes)."
    ),
    Rule(AUTO, "myositis", "polymyositis", r"polymyositis", "PM."),
    Rule(
        AUTO,
        "myositis",
        "IMNM",
        r"necroti[sz]ing\s+(?:autoimmune\s+)?myopath\w*|(?-i:\bIMNM\b)",
        "Immune-mediated necrotising myopathy.",
    ),
    Rule(
        AUTO,
        "myositis",
        "antisynthetase syndrome",
        r"anti[\s-]*synthetase",
        "Antisynthetase syndrome (myositis + ILD).",
    ),
    Rule(
        AUTO,
        "myositis",
        None,
        r"myositis|inflammatory\s+myopath\w*|(?-i:\bIIM\b)",
        "Idiopathic inflammatory myopathy with no subtype.",
    ),
    Rule(
        AUTO,
        "vasculitis",
        "ANCA vasculitis",
        r"\banca\b|granulomat\w*\s+(?:with\s+)?polyangiitis|microscopic\s+polyangiitis|(?-i:\bGPA\b)|(?-i:\bMPA\b)"
        r"|wegener|eosinophilic\s+granulomatosis|(?-i:\bEGPA\b)|churg|(?-i:\bAAV\b)|anti[\s-]*neutrophil\s+cytoplasmic",
        "AAV (GPA, MPA, EGPA) incl. ANCA glomerulonephritis.",
    ),
    Rule(
        AUTO,
        "vasculitis",
        None,
        r"vasculitis|vasculitides|arteritis|beh[cç]et",
        "Other / unspecified vasculitis.",
    ),
    Rule(
        AUTO,
        "inflammatory arthritis",
        "rheumatoid arthritis",
        r"rheumatoid|arthritis,\s*rheumatoid|(?-i:\bRA\b)",
        "RA; 'RA' only in upper case.",
    ),
    Rule(
        AUTO,
        "inflammatory arthritis",
        "spondyloarthritis / other arthritis",
        r"spondyl\w*arthrit\w*|ankylosing|psoriatic\s+arthritis|juvenile\s+(?:idiopathic\s+)?arthritis"
        r"|arthritis,\s*juvenile|\bstill'?s?\s+disease|(?-i:\baxSpA\b)",
        "axSpA, PsA, JIA, Still's disease.",
    ),
    Rule(
        AUTO,
        "Sjögren syndrome",
        "Sjögren syndrome",
        r"sj[oöø]e?gren|sicca\s+syndrome|(?-i:\bp?SS\b)",
        "Primary Sjögren's; 'SS' only in upper case.",
    ),
    Rule(AUTO, "IgG4-related disease", "IgG4-related disease", r"igg[\s-]*4", "IgG4-RD."),
    Rule(
        AUTO,
        "other systemic autoimmune",
        "antiphospholipid syndrome",
        r"antiphospholipid|(?-i:\bAPS\b)",
        "APS.",
    ),
    Rule(
        AUTO,
        "other systemic autoimmune",
        "other connective tissue disease",
        r"mixed\s+connective|undifferentiated\s+connective|connective\s+tissue\s+diseases?|sarcoidosis|uveitis"
        r"|relapsing\s+polychondritis",
        "MCTD/UCTD, sarcoidosis, uveitis.",
    ),
    # ---- Neuro-immune ----------------------------------------------------------------------
    Rule(
        AUTO,
        "neuro-immune",
        "myasthenia gravis",
        r"myasth\w*|(?-i:\bg?MG\b)",
        "MG; 'MG' only in upper case (not 'mg').",
    ),
    Rule(
        AUTO,
        "neuro-immune",
        "multiple sclerosis",
        r"multiple\s+sclerosis|(?-i:\b(?:RR|SP|PP|P|R)?MS\b)|sclerosis,\s*multiple",
        "MS incl. RRMS/SPMS/PPMS; 'RMS' alone is left out (also rhabdomyosarcoma).",
        mask=r"(?-i:\bRMS\b)",
    ),
    Rule(
        AUTO,
        "neuro-immune",
        "NMOSD",
        r"neuromyelitis|(?-i:\bNMOS?D?\b)|\bdevic'?s?\b",
        "NMOSD (AQP4+).",
    ),
    Rule(
        AUTO,
        "neuro-immune",
        "MOGAD",
        r"(?-i:\bMOGAD\b)|(?-i:\bMOG\b)|myelin\s+oligodendrocyte\s+glycoprotein",
        "MOG antibody disease.",
    ),
    Rule(
        AUTO,
        "neuro-immune",
        "CIDP",
        r"(?-i:\bCIDP\b)|chronic\s+inflammatory\s+demyelinating|polyradiculoneuropath\w*",
        "CIDP.",
    ),
    Rule(
        AUTO,
        "neuro-immune",
        "autoimmune encephalitis",
        r"autoimmune\s+encephalitis|anti[\s-]*nmdar?|nmda[\s-]*receptor|limbic\s+encephalitis|(?-i:\bLGI1\b)"
        r"|(?-i:\bCASPR2\b)",
        "Antibody-mediated encephalitis; CAR-T 'encephalopathy' (ICANS) is ignored, never this.",
    ),
    Rule(
        AUTO,
        "neuro-immune",
        None,
        r"stiff[\s-]*person|(?-i:\bSPS\b)|guillain|autoimmune\s+(?:neurolog\w*|nervous|neuropath\w*)|neurolog\w*\s+autoimmun\w*"
        r"|neuro[\s-]*immun\w*|demyelinating",
        "Other / unspecified antibody-mediated neurological disease.",
    ),
    # ---- Autoimmune cytopenias -------------------------------------------------------------
    Rule(
        AUTO,
        "autoimmune cytopenias",
        "ITP",
        r"immune\s+thrombocytopeni\w*|thrombocytopeni\w*,?\s*(?:auto|allo)?[\s-]*immune|(?-i:\bc?ITP\b)"
        r"|idiopathic\s+thrombocytopeni\w*|purpura,\s*thrombocytopenic,\s*idiopathic",
        "Immune thrombocytopenia (incl. alloimmune); TTP is masked (own entity).",
        mask=r"thrombotic\s+thrombocytopeni\w*(?:\s+purpura)?",
    ),
    Rule(
        AUTO,
        "autoimmune cytopenias",
        "AIHA",
        r"autoimmune\s+h[a]?emoly\w*|(?-i:\b[wc]?AIHA\b)|h[a]?emolytic\s+an[a]?emia,?\s*autoimmune|cold\s+agglutinin"
        r"|warm\s+(?:antibody\s+)?(?:autoimmune\s+)?h[a]?emoly\w*",
        "Warm/cold AIHA.",
    ),
    Rule(AUTO, "autoimmune cytopenias", "Evans syndrome", r"evans'?\s+syndrome", "AIHA + ITP."),
    Rule(
        AUTO,
        "autoimmune cytopenias",
        "TTP",
        r"thrombotic\s+thrombocytopeni\w*|(?-i:\bi?TTP\b)",
        "Immune TTP (anti-ADAMTS13).",
    ),
    Rule(
        AUTO,
        "autoimmune cytopenias",
        "other immune cytopenia",
        r"pure\s+red[\s-]*cell\s+aplasia|aplastic\s+an[a]?emia|acquired\s+h[a]?emophilia|autoimmune\s+neutropeni\w*"
        r"|(?:auto)?immune\s+cytopeni\w*",
        "PRCA, aplastic anaemia, acquired haemophilia.",
    ),
    # ---- Renal, skin, endocrine, GI --------------------------------------------------------
    Rule(
        AUTO,
        "immune kidney disease",
        "membranous nephropathy",
        r"membranous\s+(?:nephropath\w*|glomerulo\w*)|glomerulonephritis,\s*membranous|(?-i:\b[PI]?MN\b)",
        "PLA2R+ MN; 'MN' only in upper case.",
    ),
    Rule(
        AUTO,
        "immune kidney disease",
        "other immune glomerular disease",
        r"iga\s+nephropath\w*|(?-i:\bIgAN\b)|anti[\s-]*gbm|goodpasture|nephrotic\s+syndrome|(?-i:\bFSGS\b)"
        r"|focal\s+segmental|minimal\s+change|glomerulonephrit\w*|podocytopath\w*",
        "IgAN, anti-GBM, nephrotic syndrome, other GN. Monoclonal-immunoglobulin GN is masked "
        "(plasma-cell); lupus/ANCA GN keep their own entities too.",
        mask=r"[\w\s]*monoclonal\s+immunoglobulin[\w\s]*|membranous\s+\w+|glomerulonephritis,\s*membranous",
    ),
    Rule(AUTO, "autoimmune skin disease", "pemphigus", r"pemphigus", "Pemphigus vulgaris/foliaceus."),
    Rule(AUTO, "autoimmune skin disease", "bullous pemphigoid", r"pemphigoid", "Bullous pemphigoid."),
    Rule(
        AUTO,
        "autoimmune skin disease",
        "other immune-mediated skin disease",
        r"psoria\w*|atopic\s+dermatitis|dermatitis,\s*atopic|hidradenitis|vitiligo|alopecia\s+areata|lichen\s+planus",
        "Psoriasis, atopic dermatitis, HS, vitiligo; psoriatic arthritis is masked (arthritis).",
        mask=r"psoriatic\s+arthritis",
    ),
    Rule(
        AUTO,
        "autoimmune endocrine disease",
        "type 1 diabetes",
        r"type\s*(?:1|i|one)\s+diabet\w*|diabetes\s+mellitus,?\s*type\s*(?:1|i)\b|(?-i:\ba?T1DM?\b)"
        r"|insulin[\s-]*dependent\s+diabet\w*|juvenile\s+diabet\w*",
        "Autoimmune T1D; type 2 diabetes does not match.",
    ),
    Rule(
        AUTO,
        "autoimmune endocrine disease",
        "autoimmune thyroid disease",
        r"\bgraves|thyroid\s+eye|thyroid[\s-]*associated\s+ophthalmopath\w*|hashimoto",
        "Graves, TED, Hashimoto.",
    ),
    Rule(
        AUTO,
        "immune-mediated GI / liver disease",
        "inflammatory bowel disease",
        r"crohn|ulcerative\s+colitis|colitis,\s*ulcerative|inflammatory\s+bowel",
        "Crohn's / UC.",
    ),
    Rule(
        AUTO,
        "immune-mediated GI / liver disease",
        "autoimmune liver disease",
        r"autoimmune\s+hepatitis|primary\s+biliary\s+(?:cholangitis|cirrhosis)|primary\s+sclerosing|coeliac|celiac",
        "AIH, PBC, PSC, coeliac disease.",
    ),
    Rule(
        AUTO,
        "allergic / atopic disease",
        "asthma / allergy",
        r"asthma|allerg\w*|eosinophilic\s+o?esophagitis|chronic\s+spontaneous\s+urticaria",
        "Immune-mediated allergic disease ('allergy' is never 'ALL': that rule is upper-case only). "
        "Anaphylaxis (a vaccine AE) is not included.",
    ),
    Rule(
        AUTO,
        "autoimmune disease (unspecified)",
        None,
        r"auto[\s-]*immun\w*|immune[\s-]*mediated|rheumatic\s+diseases?|rheumatolog\w*"
        r"|autoantibod\w*[\s-]*(?:mediated|associated|driven|positive)|b[\s-]*cells?[\s-]*related\s+diseases?",
        "Autoimmune disease with no entity; 'autologous' never matches. The MeSH heading 'Immune System "
        "Diseases' (copied into conditions of lymphoma/ALL/myeloma trials) is ignored, not autoimmune.",
        covers=AREA_WIDE,
    ),
)

# --------------------------------------------------------------------------------------------
# Infectious disease (never when the same item names a malignancy: that is the malignancy)
# --------------------------------------------------------------------------------------------
INFECT_RULES: tuple[Rule, ...] = (
    Rule(
        INFECT,
        "viral infection",
        "HIV",
        r"\bHIV|human\s+immunodeficiency\s+virus|(?-i:\bAIDS\b)|acquired\s+immun\w*\s+deficiency",
        "HIV infection; 'HIV-associated lymphoma' is the lymphoma (malignancy words veto).",
        unless=ONCO,
    ),
    Rule(
        INFECT,
        "viral infection",
        "hepatitis B",
        r"hepatitis\s+b\b|\bHBV\b",
        "Chronic HBV; 'HBV-related HCC' is the HCC.",
        unless=ONCO,
    ),
    Rule(INFECT, "viral infection", "hepatitis C", r"hepatitis\s+c\b|\bHCV\b", "HCV.", unless=ONCO),
    Rule(
        INFECT,
        "viral infection",
        "CMV infection",
        r"cytomegalovir\w*|\bCMV\b",
        "CMV infection/reactivation (virus-specific T cells).",
        unless=ONCO,
    ),
    Rule(
        INFECT,
        "viral infection",
        "EBV infection",
        r"epstein[\s-]*barr|\bEBV\b",
        "EBV infection/viraemia; EBV-positive lymphoma, NPC or PTLD is a malignancy (vetoed).",
        unless=ONCO,
    ),
    Rule(
        INFECT,
        "viral infection",
        "other viral infection",
        r"adenovir\w*|\bBK\s*(?:virus|polyoma\w*|vir[a]?emia|viruria)|\bBKV\b|polyomavirus|progressive\s+multifocal"
        r"|\bJC\s*virus|hhv[\s-]*[68]|human\s+herpesvirus|varicella|herpes\s+zoster|respiratory\s+syncytial"
        r"|(?-i:\bRSV\b)|influenza|papillomavirus|(?-i:\bHPV\b)|\bwarts?\b|\bHTLV",
        "Adenovirus, BK/JC, HHV-6, VZV, RSV, influenza, HPV, HTLV infections; HPV-/HTLV-driven "
        "cancers are vetoed (malignancy).",
        unless=ONCO,
    ),
    Rule(
        INFECT,
        "viral infection",
        "COVID-19",
        r"covid|sars[\s-]*cov\w*|coronavirus",
        "SARS-CoV-2.",
    ),
    Rule(
        INFECT,
        "fungal infection",
        "fungal infection",
        r"\bfung(?:al|us|i)\b|aspergill\w*|mucormycos\w*|\bmycos[ie]s\b|candid(?:a|iasis|emia|aemia)\b|cryptococc\w*"
        r"|pneumocystis",
        "Invasive fungal infection; 'mycosis fungoides' (CTCL) is masked.",
        mask=r"mycosis\s+fungoides",
    ),
    Rule(
        INFECT,
        "bacterial infection",
        "bacterial infection / sepsis",
        r"\bbacter\w*|\bsepsis|\bseptic|bloodstream\s+infection\w*|tubercul\w*|pneumonia|urinary\s+tract\s+infection\w*",
        "Bacterial infections and sepsis.",
    ),
    Rule(
        INFECT,
        "infection (unspecified)",
        None,
        r"\binfecti\w*|viral\s+diseases?|virus\s+diseases?|communicable|vir[a]?emia",
        "Infection with no organism.",
        mask=r"non[\s-]*infectious",
        unless=ONCO,
        covers=AREA_WIDE,
    ),
)

# --------------------------------------------------------------------------------------------
# Other non-oncology
# --------------------------------------------------------------------------------------------
OTHER_RULES: tuple[Rule, ...] = (
    Rule(
        OTHER,
        "transplantation",
        "GvHD",
        r"graft[\s-]*(?:versus|vs\.?|-)[\s-]*host|(?-i:\b[ac]?GVHD\b)|(?-i:\b[ac]?GvHD\b)",
        "GvHD (prevention or treatment) is other non-oncology: iatrogenic alloimmunity in transplant "
        "recipients, not an autoimmune disease; their malignancy, if named, adds its own row.",
    ),
    Rule(
        OTHER,
        "transplantation",
        "transplant rejection / desensitisation",
        r"(?:graft|transplant\w*|allograft)\s+(?:rejection|failure|dysfunction|tolerance)|rejection|desensiti[sz]\w*"
        r"|donor[\s-]*specific\s+antibod\w*|(?-i:\bDSA\b)|hla[\s-]*(?:sensiti[sz]\w*|antibod\w*)"
        r"|(?:kidney|renal|liver|heart|lung|islet|solid[\s-]*organ)\s+transplant\w*",
        "Solid-organ transplant rejection/tolerance and HLA desensitisation. Haematopoietic stem cell "
        "transplantation as a procedure names no disease and has no rule.",
    ),
    Rule(
        OTHER,
        "fibrosis",
        "fibrosis",
        r"\bfibros[ie]s|fibrotic|(?-i:\bIPF\b)|cirrhosis|pulmonary\s+fibrosis|interstitial\s+lung\s+diseases?|(?-i:\bILD\b)",
        "Organ fibrosis (IPF, liver, cardiac); myelofibrosis (MPN) and cystic fibrosis (genetic) "
        "are masked; primary biliary cirrhosis is autoimmune.",
        mask=r"cystic\s+fibrosis|myelofibrosis|primary\s+biliary\s+cirrhosis",
    ),
    Rule(
        OTHER,
        "senescence / ageing",
        "senescence / ageing",
        r"senescen\w*|age[\s-]*related\s+(?:disease|disorder)\w*|\bfrailty|(?:biological|cellular)\s+ag[e]?ing",
        "Senescent-cell (uPAR, NKG2DL) and age-related-disease indications; bare 'ageing' ('active ageing' "
        "in a title) is not a disease.",
    ),
    Rule(
        OTHER,
        "other non-oncology",
        "non-AL amyloidosis",
        r"transthyretin|(?-i:\bATTR\w*)|\bAA\s+amyloid\w*|hereditary\s+amyloid\w*",
        "ATTR/AA amyloidosis are not plasma-cell disorders.",
    ),
    Rule(
        OTHER,
        "other non-oncology",
        "inherited blood disorder",
        r"sickle|thalass[a]?emi\w*|h[a]?emophilia",
        "Genetic blood disorders (gene-therapy trials); acquired haemophilia is masked (autoimmune).",
        mask=r"acquired\s+h[a]?emophilia",
    ),
    Rule(
        OTHER,
        "other non-oncology",
        "cardiovascular / metabolic disease",
        r"heart\s+failure|cardiomyopath\w*|atheroscler\w*|coronary\s+artery|cardiovascular\s+diseases?"
        r"|pulmonary\s+(?:arterial\s+)?hypertension|obesity|type\s*(?:2|ii)\s+diabet\w*|diabetes\s+mellitus,?\s*type\s*2"
        r"|steatohepatitis|fatty\s+liver|hypercholesterol\w*",
        "Common non-immune chronic diseases seen among real records.",
    ),
)

RULES: tuple[Rule, ...] = HAEM_RULES + SOLID_RULES + AUTO_RULES + INFECT_RULES + OTHER_RULES
