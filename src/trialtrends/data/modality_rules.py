r"""Reviewed rules of the cell-therapy modality classifier: every regex, and the reason for it.

This module is data: `trialtrends.transform.classify` compiles it and holds no rule of its own. Change a rule
here, say why in its `reason`, and bump `CLASSIFIER_VERSION` in `transform/classify/model.py`.

Regex dialect: Rust `regex` (what Polars runs). No look-around and no back-references, so
"not X" is expressed by masking X first (MASKS, BACKGROUND_MASKS). Every pattern is compiled
case-insensitively; `(?-i:...)` marks the case-sensitive parts (CAR, CART, TIL, NK, TCR are
acronyms only in upper case). `\b` is rewritten to an ASCII word boundary at load time so the
regex engine can stay on its fast DFA path over non-ASCII text (γδ, ×, ζ ...); `\w \s \d` become
ASCII classes and the window classes `[^|.;]`, `[^|;]`, `[^|.]`, `[^|]` become printable-ASCII
classes for the same reason. Windows stay short (<= 60 characters): a frequent left token
("CAR") followed by a long window makes the DFA explode.

Field tiers (see transform/classify/exprs.py): "intervention" = intervention names, other names
and descriptions; "title" = brief/official title and acronym; "support" = summary, detailed
description, arm groups, keywords, intervention MeSH. Conditions are never read for modalities:
a disease name such as "NK/T-cell lymphoma" says nothing about the product tested.
"""

from __future__ import annotations

from dataclasses import dataclass

INTERVENTION = "intervention"
TITLE = "title"
SUPPORT = "support"
ALL_TIERS = frozenset({INTERVENTION, TITLE, SUPPORT})
STRONG_TIERS = frozenset({INTERVENTION, TITLE})

#: Rule classes. Each maps to a reported modality in transform/classify/compiled.py; "CAR" (a chimeric antigen
#: receptor without a named cell type) becomes CAR-T only when no other CAR cell type is named,
#: "NKT"/"GDT" become OTHER-CELL unless the same cell type carries a CAR, "VST" (virus-specific
#: T cells, a common CAR host) becomes OTHER-CELL only when no CAR/TCR product is named, and
#: "CAR-OTHER" (CAR dendritic cells) is OTHER-CELL.
RULE_CLASSES = (
    "CAR-T",
    "CAR",
    "CAR-NK",
    "CAR-NKT",
    "CAR-gdT",
    "CAR-M",
    "CAR-OTHER",
    "TCR-T",
    "TIL",
    "NK",
    "NKT",
    "GDT",
    "VST",
    "OTHER-CELL",
)


@dataclass(frozen=True)
class Rule:
    """One positive pattern: matching text in an allowed tier is evidence for `klass`."""

    name: str
    klass: str
    pattern: str
    reason: str
    tiers: frozenset[str] = ALL_TIERS
    #: The pattern is a list of product names/codes; it is added verbatim to the prefilter.
    names_list: bool = False


@dataclass(frozen=True)
class Pattern:
    """A named pattern used for masking or flagging, with the reason it exists."""

    name: str
    pattern: str
    reason: str


# --------------------------------------------------------------------------------------------
# Lexical masks: phrases that contain a modality word but never name a product. Replaced by
# " ~ " before any rule runs, in every field and for every trial. Branches may keep a word
# through the named groups k1..k5 (replacement "${k1}${k3}${k4}${k5} ~ ${k2}").
# --------------------------------------------------------------------------------------------
MASKS: tuple[Pattern, ...] = (
    Pattern(
        "nk_t_lymphoma",
        r"(?:extranodal\s+)?\b(?:NK|natural[- ]killer)(?:\s*(?:/|-|and|or)\s*|\s+)T[- ]?(?:cells?)?[- ]?"
        r"(?:lymphoma|leuka?emia|malignan|neoplas|tumou?r|lymphoproliferat|disorder)\w*",
        "NK/T-cell and NK-T-cell lymphoma (and 'NK and T-cell malignancies') are diseases.",
    ),
    Pattern(
        "t_nk_lymphoma",
        r"\bT[- ]?(?:cells?)?\s*(?:and|or|/|-)\s*(?:NK|natural[- ]killer)[- ]?(?:cells?)?[- ]?"
        r"(?:lymphoma|leuka?emia|malignan|neoplas|tumou?r|lymphoproliferat|disorder)\w*",
        "'T/NK-cell malignancies' (CD7 and CD5 CAR-T targets) are diseases.",
    ),
    Pattern(
        "nk_slash_t",
        r"(?:^|[^-])\b(?-i:NK)\s*/\s*T\b|\bT\s*/\s*(?-i:NK)\b",
        "'NK/T' and 'T/NK' are only used for lymphoma and leukemia lineages.",
    ),
    Pattern(
        "nk_cell_disease",
        r"\b(?:aggressive\s+)?(?:NK|natural[- ]killer)[- ](?:cells?[- ])?(?:lymphoma|leuka?emia|"
        r"LGL|large granular|malignan|neoplas|enteropath|lymphoproliferat)\w*",
        "'Aggressive NK-cell leukemia', 'NK-LGL leukemia' are diseases (a negative record has one).",
    ),
    Pattern(
        "nk_biology",
        r"\b(?:NK|natural[- ]killer)(?:\s*\(NK\))?[- ]cells?[- ](?:activity|activities|function\w*|"
        r"counts?|numbers?|levels?|cytotoxicity|subsets?|frequenc\w*|phenotyp\w*|percentages?|"
        r"receptors?|reconstitution|recovery|responses?|activation|ligands?|engager\w*|mediated|"
        r"depletion|infiltration|markers?|exhaustion|killing|biology|assays?)",
        "NK cells measured as an outcome or biomarker, or NK-cell engager antibodies, are not an "
        "NK cell product.",
    ),
    Pattern(
        "nk_in_cell_panel",
        r"\b(?:T|B)[- ]?(?:cells?)?\s*,\s*(?:(?:T|B)[- ]?(?:cells?)?\s*,?\s*)?(?:and|or)\s+"
        r"(?-i:NK)[- ]?cells?",
        "'T, B and NK cells' lists immune subsets (immune monitoring), not a product.",
    ),
    Pattern(
        "chimeric_t_cell_receptor",
        r"(?P<k1>chimeric)\s+T[- ]?cell\s+(?P<k2>receptors?)",
        "Early CAR papers say 'chimeric T cell receptor': a CAR, not a TCR-T; keep 'chimeric ... "
        "receptor' for the generic CAR rule.",
    ),
    Pattern(
        "car_tcr_construct",
        r"(?P<k3>(?-i:CAR))[- ]TCR\b",
        "'CAR-TCR' names a CAR construct; keep 'CAR' for the CAR rules, drop 'TCR'.",
    ),
    Pattern(
        "car_in_other_cell_names",
        r"(?P<k4>(?-i:CAR))[- ](?:TILs?|CIKs?)\b|(?P<k5>(?-i:CAR)[- ]?T)-?regs?\b",
        "CAR-TIL, CAR-CIK and CAR-Treg are CAR-T (CAR in a T-cell subset): keep 'CAR'/'CAR-T', "
        "drop the TIL/CIK/Treg word so they do not count as TIL or OTHER-CELL.",
    ),
    Pattern(
        "tcr_zeta_domain",
        r"\bTCR\s*[-/]?\s*(?:ζ|zeta|z\b|ξ)|\bTCR\s*(?:and|/)\s*4-?1BB",
        "'TCRz', 'TCR-ζ' and 'TCR/4-1BB' are CAR signalling domains (e.g. 'anti-CD19 attached to "
        "TCRz'), not a TCR-T.",
    ),
    Pattern(
        "tcr_like",
        r"\bTCR[- ]?(?:like|mimic\w*)|\bT[- ]cell receptor[- ](?:like|mimic\w*)",
        "'TCR-like' antibodies/CARs recognise peptide-MHC but are CAR-T, not TCR-T.",
    ),
    Pattern(
        "tcr_fusion_construct",
        r"\bT[- ]cell receptor\s+fusion\s+constructs?|\bTCR\s+fusion\s+constructs?",
        "TRuC (TCR fusion construct) T cells are CAR-like; the CAR-T rule names TRuC itself.",
    ),
    Pattern(
        "star_synthetic_tcr",
        r"synthetic\s+(?:T[- ]cell receptor|TCR)\s+and\s+antigen\s+receptor",
        "STAR = 'synthetic TCR and antigen receptor', classed as CAR-T by the 'STAR-T' rule.",
    ),
    Pattern(
        "tcr_edited_out",
        r"\b(?:(?:alpha[- ]?beta|αβ|ab)[- ]?)?TCR\s*(?:(?:alpha|beta|α|β|αβ|alpha[- ]?beta|ab)\s*)?"
        r"(?:\(?TRAC\)?\s*)?(?:gene\s*)?(?:-\s*)?(?:knock(?:ed)?[- ]?outs?|KO\b|deleted|deletion|"
        r"deficient|disrupt\w*|negative|depleted|depletion|edited|editing|inactivat\w*|free\b|"
        r"null\b|locus|replaced|replacement|reserved|retained|retention|intact|preserved|KDEL)|"
        r"\bTCR\s*αβ\s*[-+]|\bT[- ]cell receptor[- ]KDEL",
        "Allogeneic CAR-T remove, retain or block the endogenous TCR ('TCR knock-out', 'TCR "
        "reserved', 'TCR-KDEL'); haplo grafts are 'TCRαβ+/CD45RA+ depleted'. None is a TCR-T.",
    ),
    Pattern(
        "tcr_biology",
        r"\bT[- ]cell receptor\s*(?:\(TCR\)\s*)?(?:alpha|beta|α|β)?[- ]?(?:chain[- ])?(?:constant|"
        r"gene rearrangement|rearrangement|repertoire|sequencing|signal\w*|diversity|clonalit\w*)|"
        r"\bTCR[- ]?(?:signal\w*|stimulation|repertoire|sequencing|seq\b|diversity|clonalit\w*|"
        r"clonotyp\w*|V\s*β|Vbeta|V\s*beta|rearrangement|engagement|activation|complex|CD3|"
        r"γδ|gamma[- ]?delta)",
        "TCR repertoire/clonality/rearrangement are biomarkers; 'T cell receptor beta constant 1' "
        "(TRBC1) is a CAR-T target.",
    ),
    Pattern(
        "tcr_soluble_drugs",
        r"\b(?:tebentafusp|brenetafusp|Kimmtrak|ImmTA[CV]s?)\b|soluble\s+(?:TCR|T[- ]cell receptor)|"
        r"\bTCR[- ]based\s+(?:bispecific|fusion)\w*|\bTCR\s+bispecific\w*",
        "Soluble TCR bispecific proteins (tebentafusp, ImmTAC) are drugs, not TCR-T cells.",
    ),
    Pattern(
        "til_biomarker",
        r"(?:tumou?r[- ]infiltrating lymphocytes?|\b(?-i:TILs?)\b)\s*(?:\((?-i:s?TILs?)\)\s*)?"
        r"(?:density|densities|scor\w*|counts?|levels?|infiltration|percentage|status|quantif\w*|"
        r"assessment|evaluation|analysis|biomarkers?|markers?|as (?:an? )?(?:predictive |"
        r"prognostic )?(?:bio)?markers?|predict\w*|in (?:the )?(?:tumou?r|biops\w*|specimens?|"
        r"tissue))|(?:stromal|intra-?tumou?ral|CD8\+?|CD3\+?|FOXP3\+?|high|low|baseline|levels? of|"
        r"density of|presence of|number of|changes? in|increase in|infiltration of|evaluation of|"
        r"assessment of|percentage of)\s+(?:tumou?r[- ]infiltrating lymphocytes?|\b(?-i:TILs?)\b)",
        "TILs scored in biopsies are a biomarker (common in checkpoint-inhibitor trials).",
    ),
    Pattern(
        "dendritic_cell_disease",
        r"(?:blastic\s+)?(?:plasmacytoid\s+|follicular\s+|interdigitating\s+)?dendritic[- ]cells?"
        r"\s+(?:neoplasms?|sarcomas?|tumou?rs?|leuka?emias?|histiocytos\w*)|(?-i:\bBPDCN\b)",
        "Blastic plasmacytoid dendritic cell neoplasm (a CD123 CAR-T indication) is a disease.",
    ),
    Pattern(
        "car_other_meanings",
        r"coxsackie\w*(?:[- ]virus)?\s*(?:and|-)?\s*adenovirus receptor(?:\s*\(CAR\))?|"
        r"constitutive androstane receptor(?:\s*\(CAR\))?|central african republic(?:\s*\(CAR\))?",
        "'CAR' also abbreviates the coxsackie-adenovirus receptor (oncolytic viruses), the "
        "constitutive androstane receptor and the Central African Republic.",
    ),
    Pattern(
        "tracking_marker",
        r"\btruncated\s+(?:human\s+)?(?:CD19|CD20|CD34|EGFR|NGFR)\w*",
        "'Truncated CD19-expressing T cells' carry a tracking marker, not a CD19 CAR.",
    ),
)

# --------------------------------------------------------------------------------------------
# Background masks: a cell product named as context ("after CAR-T", "patients receiving
# axi-cel", "CAR-T-associated neurotoxicity"). Masked for every trial except long-term
# follow-up/registry studies, whose very subject is patients treated earlier.
# --------------------------------------------------------------------------------------------
_BG_CELL_TERM = (
    r"(?:"
    r"(?:[\w/+.()-]+[- ])?(?-i:CAR)[- ]?(?:T|NK|NKT|M)\w*(?:[- ]cells?)?"
    r"|(?-i:CART)\w*(?:[- ]cells?)?"
    r"|chimeric[- ]antigen[- ]receptor\w*(?:\s*\((?-i:CAR)\))?(?:[- ](?:T|NK)\b)?(?:[- ]?cells?)?"
    r"|\w*cabtagene(?:\s+\w*leucel)?|tisagenlecleucel|lifileucel"
    r"|\b(?:tisa|axi|brexu|liso|ide|cilta|obe|relma|eque|zevor|azer|anito|zamto|satri|firi|inati)"
    r"-cel\b"
    r"|\b(?:Kymriah|Yescarta|Tecartus|Breyanzi|Abecma|Carvykti|Aucatzyl)\b"
    r"|(?:adoptive |immune effector |engineered )?cell(?:ular)?[- ](?:based )?(?:therap\w*|"
    r"immunotherap\w*|products?|infusions?)"
    r"|immune effector cells?"
    r")"
    r"(?:\s*\(?(?-i:CAR)[- ]?T\)?)?"
    r"(?:[- ](?:cells?[- ])?(?:therap\w*|infusions?|treatment|products?|immunotherap\w*))?"
)

BACKGROUND_MASKS: tuple[Pattern, ...] = (
    Pattern(
        "cell_product_as_context",
        r"\b(?:after|following|post|prior(?: to)?|previous(?:ly)?|before|since|"
        r"relaps\w* (?:after|following|post)|progress\w* (?:after|on|following)|fail\w*(?: of| on|"
        r" after)?|refractory to|resistant to|exposed to|exposure to|treated with|"
        r"(?:has|have|had|who|were|was|been) (?:previously )?(?:received|undergone|treated)|"
        r"receiving|received|undergoing|underwent|undergo|recipients? of|eligible (?:for|to)|"
        r"ineligible (?:for|to)|candidates? for|considered for|referred for|planned for|"
        r"planning (?:for|to receive)|scheduled (?:for|to receive)|awaiting|waiting for|"
        r"bridg\w* (?:to|before|prior to)|in the (?:setting|context|era) of|associated with|"
        r"related to|induced by|caused by|secondary to|due to|such as|including|like|e\.g\.|"
        r"alternative to|instead of|access to|limited by|outcomes? (?:of|after|with)|"
        r"toxicit\w* (?:of|after|from|with)|complications? (?:of|after|from)|response to|"
        r"resistance to|failure of|requiring|need for|in need of)"
        r"\W+(?:[\w/+.()-]+\W+){0,3}?" + _BG_CELL_TERM,
        "A product after 'after', 'receiving', 'eligible for', 'such as' ... is the setting of the "
        "study (bridging, supportive care, observational cohorts), not what it tests.",
    ),
    Pattern(
        "cell_product_adjective",
        _BG_CELL_TERM
        + r"[- ](?:related|associated|induced|mediated)\b|"
        + _BG_CELL_TERM
        + r"\s+(?:recipients?|toxicit\w*|neurotoxicit\w*|(?-i:CRS|ICANS)|complications?|failures?|"
        r"relapses?|era|candidates?|eligib\w*)\b",
        "'CAR-T-associated neurotoxicity', 'CAR-T recipients' describe the population.",
    ),
)

# --------------------------------------------------------------------------------------------
# Positive rules. Order matters only for the evidence text (earliest match in the chosen field).
# --------------------------------------------------------------------------------------------
_TARGETED = (
    r"(?:CD\d{1,3}\w*|BCMA|GPRC5D|HER2|GD2|GPC3|EGFR\w*|MSLN|mesothelin|claudin\s*18\.2|"
    r"CLDN18\.2|PSMA|PSCA|MUC1|CEA|EpCAM|ROR1|B7-?H3|CLL-?1|NKG2D\w*|IL13R\w*|DLL3|FLT3|"
    r"TRBC1|kappa)"
)

#: A named surface antigen (used to tell a specific CAR product from generic "CAR-T therapy").
ANTIGEN = r"\b(?:anti-?)?" + _TARGETED + r"\b"

RULES: tuple[Rule, ...] = (
    # ---- CAR-T, explicit -------------------------------------------------------------------
    Rule(
        "car_t_token",
        "CAR-T",
        r"(?-i:(?:\b[A-Z]?[a-z]{0,6}|[0-9])CAR)(?:\s*\+)?[-\s]?(?-i:T)(?:cm|scm|regs?|s|[- ]?\d)?\b|"
        r"(?-i:\bCar)[- ][tT]\b",
        "CAR-T, CAR T, CAR+ T, CAR-Ts, CAR Tcm, CAR-T2, UCAR-T, BiCAR-T, mesoCAR-T, cCAR T, "
        "UltraCAR-T, 'Car-t'; CAR in capitals only, since 'car' is a word (a capitalised prefix "
        "may be followed only by lower case, so acronyms like OSCAR do not match).",
    ),
    Rule(
        "car_t_cart",
        "CAR-T",
        r"(?-i:(?:\b[A-Z]?[a-z]{0,6}|[0-9])CART)(?:[-_\s]?\d|s?\b|-|meso|[\s-]?cells?)|"
        r"(?-i:\bCAR)[- ]?CIK\b|(?-i:\bCARCIK)",
        "CART, CART19, huCART19, UCART19, tanCART19/20, ssCART-19, CD19CART, CART-meso, 'CART "
        "cells'; "
        "CAR-CIK (a CAR in cytokine-induced killer T cells). Case-sensitive so 'cart' and "
        "'Cartilage' never match; CARTITUDE/CARTISTEM need a digit, '-', 's' or a word end; "
        "acronyms like GOCART need a word start.",
    ),
    Rule(
        "car_t_modified",
        "CAR-T",
        r"(?-i:\bCAR)(?:\d+|[.\w-]{1,12})?[-\s]+(?:gene[- ])?(?:modified|engineered|transduced|"
        r"redirected|expressing|positive|armed|based)\s+(?:autologous\s+|allogeneic\s+)?"
        r"(?:\w+\s+)?T[- ]?(?:cells?|lymphocytes?)\b",
        "'CAR-modified T cells', 'CAR-engineered autologous T cells'.",
    ),
    Rule(
        "car_t_construct",
        "CAR-T",
        r"(?-i:\bCAR)[.\w/-]{0,14}\s+(?:\w+\s+)?T[- ]?(?:cells?|lymphocytes?)\b",
        "Construct names before 'T cells': 'CAR.CD30 T cells', 'CAR20.19.22 T-cells', "
        "'CD19CAR-28-zeta T cells', 'CARv3-TEAM-E T cells'.",
    ),
    Rule(
        "car_t_chimeric_t",
        "CAR-T",
        r"chimeric[- ]antigen[- ]receptors?(?:\s*\((?-i:CARs?)\))?[-\s]*(?:[a-z]+[-\s]+){0,2}?"
        r"T[-\s]?(?:cells?|lymphocytes?)?\b",
        "'chimeric antigen receptor T cells', '... (CAR) modified T-cells', '... -T-cell'.",
    ),
    Rule(
        "car_t_t_cells_with_car",
        "CAR-T",
        r"\bT[- ]?(?:cells?|lymphocytes?)\s+(?:\w+\s+){0,2}?(?:expressing|engineered|transduced|"
        r"modified|redirected|carrying|armed|with)\b[^|;]{0,50}?(?:chimeric antigen receptor|"
        r"(?-i:\bCARs?\b))",
        "'T cells expressing a fully human anti-CD19 chimeric antigen receptor'.",
    ),
    Rule(
        "car_t_targeted_t_cells",
        "CAR-T",
        r"(?:anti-?|α)?" + _TARGETED + r"[- ](?:targeted|targeting|directed|redirected|specific|"
        r"CAR\+?)\s+(?:autologous\s+|allogeneic\s+|universal\s+)?T[- ]?(?:cells?|lymphocytes?)\b|"
        r"\bT[- ]?(?:cells?|lymphocytes?)\s*(?:\([^)|]{1,20}\)\s*)?(?:genetically\s+)?(?:engineered\s+"
        r"to\s+target|targeted|directed|redirected)\s+(?:against\s+|to\s+)?(?:the\s+)?"
        r"(?:[^\s|]+\s+){0,5}?\(?" + _TARGETED + "|"
        r"\banti-?(?:human\s+)?"
        + _TARGETED
        + r"[- ]T[- ]?cells?\b|"
        + _TARGETED
        + r"[-./ ]?(?:(?-i:CAR)[-. ]?)?(?:EBV|CMV|VZV|tri-?virus|multi-?virus)[- ]?"
        r"(?:specific\s+)?(?-i:(?:CTLs?|VSTs?))",
        "T cells redirected to a surface antigen ('CD19-targeted T cells', 'human BCMA targeted T "
        "cells injection', 'EBV-CTLs genetically targeted to CD19', 'HER2/EBV-CTLs') are CAR-T; "
        "viral/tumour peptide targets are handled by TCR-T and virus-specific rules.",
    ),
    Rule(
        "car_t_engineered_to_target",
        "CAR-T",
        r"\bT[- ]?cells?\s+genetically\s+engineered[^|;]{0,50}?\bto\s+target\s+(?:the\s+)?"
        r"(?:[^\s|]+\s+){0,4}?" + _TARGETED,
        "'Autologous T cells genetically engineered to secrete IL-12 and to target the MUC16ecto antigen'.",
    ),
    Rule(
        "car_t_circuit",
        "CAR-T",
        r"\b(?:integrated|programmable|logic[- ]gated)\s+circuit\s+T[- ]?cells?",
        "ArsenalBio 'integrated/programmable circuit T cell' products are logic-gated CAR-T.",
    ),
    Rule(
        "car_t_redirected",
        "CAR-T",
        r"\bredirected\s+(?:autologous\s+|allogeneic\s+)?T[- ]?cells?|\bre-directed T[- ]?cells?|"
        r"\bCD\d+\s+redirected\s+(?:autologous\s+)?T",
        "Penn's 'CD19 redirected autologous T cells' trials are CAR-T.",
    ),
    Rule(
        "car_t_star_t",
        "CAR-T",
        r"(?-i:\bSTAR)[- ]?T\b",
        "STAR-T (synthetic TCR and antigen receptor) T cells are counted as CAR-T by design.",
    ),
    Rule(
        "car_t_caar_t",
        "CAR-T",
        r"(?-i:CAAR)[- ]?T\b|chimeric auto-?antibody receptor",
        "CAAR-T (chimeric autoantibody receptor T cells, e.g. MuSK-CAART) are engineered "
        "receptor T cells counted with CAR-T.",
    ),
    Rule(
        "car_t_truc",
        "CAR-T",
        r"(?-i:\bTRuC)\b|T[- ]cell receptor\s+fusion\s+construct",
        "TRuC-T (TCR fusion construct) cells are antibody-redirected like CARs.",
    ),
    Rule(
        "car_t_inn",
        "CAR-T",
        r"\w+cabtagene\b|tisagenlecleucel",
        "INN stem -cabtagene marks CAR-T products (axicabtagene ciloleucel, idecabtagene "
        "vicleucel, ...); tisagenlecleucel predates the stem.",
    ),
    Rule(
        "car_t_brand",
        "CAR-T",
        r"\b(?:Kymriah|Yescarta|Tecartus|Breyanzi|Abecma|Carvykti|Aucatzyl|Fucaso|Carteyva|"
        r"Qartemi|NexCAR19)\b",
        "Brand names of approved CAR-T products.",
        names_list=True,
    ),
    Rule(
        "car_t_short_name",
        "CAR-T",
        r"\b(?:tisa|axi|brexu|liso|ide|cilta|obe|relma|eque|zevor|inati|azer|anito|zamto|satri|"
        r"firi|rapca|zugo|cema|varnim|arlo|zola|durca|gavo)-cel\b",
        "'-cel' short names of CAR-T products (axi-cel, cilta-cel ...); other '-cel' short "
        "names (exa-cel, tab-cel, afami-cel) are not CAR-T, so they are listed one by one.",
    ),
    Rule(
        "car_t_product_code",
        "CAR-T",
        r"\b(?:bb2121|bb21217|bbT369|JCAR\w+|JWCAR\w+|KTE-?[CX]19|KITE-\d{3}|CTL[01]19|"
        r"CTX1[1-3]\d|UCART\w*|ALLO-(?:501A?|605|715|316|329)|P-(?:BCMA|PSMA|MUC1C|CD19CD20)-\w+|"
        r"Descartes[- ]?\d+|AUTO[1-8](?:/22)?|JNJ-(?:68284528|90014496|75229414)|"
        r"C-CAR\d+|CT103A|CT053|CT041|CT0\d{3}\w*|GC0\d\d[A-Z]?|AZD0120|"
        r"CNCT-?19|CABA-201|KYV-?10[12]|YTB323|MB-CART\w*|MB-10[2-6]|PBCAR\w+|CLBR001|"
        r"BMS-986(?:353|393|453)|CC-97540|MCARH\d+|NXC-201|HBI0101|SC291|LYL(?:797|273|314)|"
        r"ARI-?000[1-3]\w*|CLIC-1901|TBI-1501|IM19|BZ019|CYAD-\w+|NKR-2|FT819|FT825|FT836|"
        r"TAK-10[23]|AMG\s?(?:119|553)|CNCT19|PRGN-3006|RD13-0\d|WU-CART-\w+|"
        r"GLPG5101|A2B\d{3}|SynKIR-\d+|SYNCAR-\d+|ICAR\d+|4SCAR\w*|TriCAR\w*|CCT30[13]\w*|"
        r"KLN-1010|UB-VV\d+|INT2104|ESO-T01|CPTX2309|A-CAR\d+|MuSK-CAART|"
        r"DSG3-CAART|zamtocabtagene|welgenaleucel|UWC19)\b",
        "Sponsor codes of CAR-T products whose public records often name only the code "
        "(e.g. bb2121 = ide-cel, JCAR017 = liso-cel, KTE-C19 = axi-cel, CTX110, AZD0120 = "
        "GC012F, CABA-201, in vivo CAR-T vectors UB-VV111, INT2104, ESO-T01, CPTX2309).",
        names_list=True,
    ),
    Rule(
        "car_t_in_vivo",
        "CAR-T",
        r"\bin[- ]?vivo[- ](?:(?:generated|engineered|programm\w*|reprogramm\w*|delivered|"
        r"transduced|circular|RNA|mRNA|LNP|lentivir\w*|targeted|[\w/]*-?targeted|gene[- ]therapy|"
        r"anti-\w+|\w*CD\d+\w*|BCMA|T[- ]cell)[- ]){0,3}(?:(?-i:CAR)|chimeric antigen receptor)|"
        r"\bin[- ]?vivo\s+(?:LV|lentivir\w*|LNP)\s+(?:injection|vector|particles?)",
        "In vivo CAR products (vectors or LNPs that make CAR-T cells in the patient) are CAR-T "
        "(flagged is_in_vivo_car); 'in vivo expansion of CAR-T cells' is excluded by the word list.",
    ),
    # ---- CAR, cell type not stated -----------------------------------------------------------
    Rule(
        "car_generic_phrase",
        "CAR",
        r"chimeric[- ]antigen[- ]receptors?|chimeric (?:~ )?(?:immune[- ]|immuno)?receptors?|"
        r"chimeric (?:switch|NKG2D|costimulatory) receptors?|(?-i:\bCIR)[- ]T\b",
        "A chimeric antigen (or immune) receptor without a cell type: CAR-T unless NK, NKT, γδ T "
        "or macrophage cells are named.",
    ),
    Rule(
        "car_generic_token",
        "CAR",
        r"(?-i:\bCARs?\b)|(?-i:\bCAR)[-.]?(?:\d|CD\d|[A-Z]{1,2}\d)|(?-i:\b[A-Za-z0-9]{1,5}-?CAR)"
        r"-?(?:[A-Z]{0,2}\d)|(?-i:\dCARs?\b)|(?-i:CAR)\s*\+|(?-i:\b[A-Z]{1,4}CAR-[A-Z0-9]{2,})|"
        r"(?-i:\b[a-z]{1,6}CARs?\b)|(?:\b28|BB)[- ]?(?:ζ|zeta\b|z\b)|\bCD3[- ]?(?:ζ|zeta\b)",
        "CAR as a word or in construct/product codes (CAR19, CD4CAR, LCAR-C182A, LCAR-AIO, "
        "PBCAR20A, MCARH109, cCAR), and CAR signalling domains in a product name ('19-28z T "
        "cells', 'HER2(EQ)BBζ T cells', 'CD3zeta'). Only in interventions and titles: in free text "
        "'CAR' has other meanings.",
        STRONG_TIERS,
    ),
    Rule(
        "car_generic_directed",
        "CAR",
        r"\b(?:anti-?)?" + _TARGETED + r"[- ](?-i:CARs?)\b",
        "'CD19 CAR', 'anti-BCMA CAR' name a CAR product.",
    ),
    # ---- CAR in other cell types ---------------------------------------------------------
    Rule(
        "car_nk_token",
        "CAR-NK",
        r"(?-i:(?:\b[A-Z]?[a-z]{0,6}|[0-9])CAR)[-\s.]?(?:p|i|ML|CB|PB|IT)?(?-i:NK)(?:[- ]?92)?\b|"
        r"(?-i:\bCAR)[-\s]?natural[- ]killer|(?-i:\bCar)[- ](?-i:NK)\b",
        "CAR-NK, CAR NK, CAR-pNK, CAR-NK-92, BiCAR-NK, CAR-ITNK (NK-like cells from T cells).",
    ),
    Rule(
        "car_nk_car_then_nk",
        "CAR-NK",
        r"(?-i:(?:\bCARs?\b|[A-Za-z0-9]CAR-[A-Z0-9]+))[^|;]{0,60}?(?:(?-i:\bNK\b)(?:[- ]?92)?|"
        r"natural[- ]killer)[- ]?cells?",
        "CAR and NK cells in one phrase: 'CAR.CD19-CD28-zeta-2A-iCasp9-IL15-transduced cord "
        "blood NK cells', 'CAR-induced pluripotent stem cell derived NK cells', 'LUCAR-DKS1 NK "
        "cells'.",
    ),
    Rule(
        "car_nk_nk_with_car",
        "CAR-NK",
        r"(?:(?-i:\bNK\b)(?:[- ]?92)?|natural[- ]killer)[- ]?cells?\s+(?:[\w-]+\s+){0,3}?"
        r"(?:expressing|engineered|transduced|armed|modified|carrying)\s+(?:with\s+)?(?:an?\s+)?"
        r"(?:[\w-]+\s+){0,3}?(?:(?-i:\bCARs?\b)|chimeric antigen receptors?)",
        "'NK cells engineered with a CAR', 'NK-92 cells expressing an anti-CD19 CAR'.",
    ),
    Rule(
        "car_nk_nk_then_car",
        "CAR-NK",
        r"(?:(?-i:\bNK\b)(?:[- ]?92)?|natural[- ]killer)[- ]?cells?\b[^|;]{0,60}?(?:(?-i:\bCARs?)"
        r"(?:[^-A-Za-z0-9]|-[^T]|$)|chimeric antigen receptor)",
        "'Engineered NK cells containing IL13Ra and EGFRvIII chimeric antigen receptor (CAR)'. "
        "'CAR-T' after NK cells does not count.",
    ),
    Rule(
        "car_nk_targeted_nk",
        "CAR-NK",
        r"(?:(?-i:\bNK\b)|natural[- ]killer)(?:\s*\((?-i:NK)\))?[- ]?cells?(?:[- ]therap\w*)?\s+"
        r"(?:targeting|directed against|against|specific for|redirected to)\s+(?:the\s+)?"
        + _TARGETED
        + r"|(?:anti-?)?"
        + _TARGETED
        + r"[- ](?:targeted|targeting|directed|"
        r"redirected|specific)\s+(?:[\w-]+\s+)?(?:(?-i:NK\b)|natural[- ]killer)|"
        r"(?:zeta|ζ|CD3z)[-.\w]*\s+(?-i:NK)[- ]?cells?",
        "NK cells aimed at a surface antigen ('NK cell therapy targeting CD33', 'CD19-targeted NK "
        "cells', 'NKG2D.zeta NK cells') carry a CAR.",
    ),
    Rule(
        "car_nk_chimeric_then_nk",
        "CAR-NK",
        r"chimeric antigen receptors?[^|;]{0,50}?(?:natural[- ]killer|(?-i:\bNK\b))(?:[- ]?92)?"
        r"[- ]?cells?",
        "'chimeric antigen receptor (CAR)-modified NK cells'.",
    ),
    Rule(
        "car_nk_product_code",
        "CAR-NK",
        r"\b(?:NKX019|NKX101|TAK-007|FT596|FT576|FT522|FT536|CNTY-101|AB-20[15]|QN-0\d\d\w?|"
        r"t-haNK|NEUK\d+-\d+|INT2104)\b",
        "Sponsor codes of CAR-NK products (TAK-007 = CD19 CAR-NK, NKX019, FT596, CNTY-101; "
        "INT2104 makes CAR-T and CAR-NK cells in vivo).",
        names_list=True,
    ),
    Rule(
        "car_nkt_token",
        "CAR-NKT",
        r"(?-i:\bCAR)[-\s]?i?(?-i:NKT)|i?(?-i:NKT)[-\s]?(?-i:CAR)\b|"
        r"\b(?:CD\d+|BCMA|GD2)[- ]targeted i?(?-i:NKT)\b",
        "CAR-NKT, CAR-iNKT, 'CD19-targeted iNKT cells'.",
    ),
    Rule(
        "car_nkt_car_then_nkt",
        "CAR-NKT",
        r"(?:(?-i:\bCARs?\b)|chimeric antigen receptors?)[^|;]{0,50}?(?:natural killer T|"
        r"\bi?(?-i:NKT)\b)",
        "'GD2 chimeric antigen receptor transduced autologous natural killer T-cells'.",
    ),
    Rule(
        "car_nkt_product_code",
        "CAR-NKT",
        r"\b(?:GINAKIT|KUR-50\d)\b",
        "CAR-NKT products by code (GINAKIT = GD2 CAR NKT cells, KUR-502).",
        names_list=True,
    ),
    Rule(
        "car_gdt_token",
        "CAR-gdT",
        r"(?-i:\bCAR)[-\s]?(?:γδ|gamma[- ]?delta|gd)[-\s]?T|(?:γδ|gamma[- ]?delta)\s*"
        r"(?:\(γδ\)\s*)?(?-i:CAR)|(?-i:\bCD\d+-GDT)\b",
        "CAR-γδT, 'γδ CAR T cells', 'OL-CD19-GDT'.",
    ),
    Rule(
        "car_gdt_car_then_gdt",
        "CAR-gdT",
        r"(?:(?-i:\bCARs?\b)|chimeric antigen receptors?)[^|.;]{0,40}?(?:γδ|gamma[- ]?delta|"
        r"(?-i:\bgd))[- ]?T",
        "CAR and gamma delta T cells in one phrase.",
    ),
    Rule(
        "car_gdt_gdt_then_car",
        "CAR-gdT",
        r"(?:γδ|gamma[- ]?delta|(?-i:\bgd))[- ]?T[- ]?(?:cells?)?\b[^|;]{0,50}?(?:(?-i:\bCARs?\b)|"
        r"chimeric antigen receptor|transduced with (?:the |an? )?anti-)",
        "'gdT cell injection targeting B7-H3 chimeric antigen receptor', 'γδT cells transduced "
        "with the anti-CD19 lentiviral vector'.",
    ),
    Rule(
        "car_gdt_product_code",
        "CAR-gdT",
        r"\b(?:ADI-001|ADI-270)\b",
        "CAR-γδT products by code (Adicet ADI-001 CD20, ADI-270 CD70).",
        names_list=True,
    ),
    Rule(
        "car_m_token",
        "CAR-M",
        r"(?-i:\bCAR)[- ]?(?-i:M)\b|(?-i:\bCAR)[- ]?(?:macrophages?|monocytes?|myeloid)",
        "CAR-M, CAR macrophages, CAR monocytes.",
    ),
    Rule(
        "car_m_chimeric_then_macrophage",
        "CAR-M",
        r"chimeric antigen receptors?[^|.;]{0,40}?(?:macrophages?|monocytes?|myeloid cells)",
        "'chimeric antigen receptor macrophages'.",
    ),
    Rule(
        "car_m_product_code",
        "CAR-M",
        r"\b(?:CT-0508|CT-0525|MT-10[12]|MT-30[234]|SY001)\b",
        "CAR-M products by code (CT-0508, MT-101 CAR monocytes, MT-30x in vivo myeloid CARs).",
        names_list=True,
    ),
    Rule(
        "car_dc",
        "CAR-OTHER",
        r"(?-i:\bCAR)[- ]?(?-i:DCs?)\b|(?-i:\bCAR)[- ]?dendritic",
        "CAR-DC vaccines are a CAR on a non-T cell that has no modality of its own: OTHER-CELL.",
    ),
    # ---- TCR-T ---------------------------------------------------------------------------
    Rule(
        "tcr_t_token",
        "TCR-T",
        r"(?-i:\bTCRs?)[-\s]?(?-i:T)(?:[- ]?cells?)?\b|(?-i:\bTCR)[- ]?(?:engineered|transduced|"
        r"modified|redirected|gene[- ]modified|gene[- ]therap\w*|transgenic|expressing|based|"
        r"therap\w*|T[- ]cell therap\w*)",
        "TCR-T, TCR T cells, TCR-engineered/transduced T cells, TCR gene therapy.",
    ),
    Rule(
        "tcr_t_phrase",
        "TCR-T",
        r"\bT[- ]cell receptors?\s*(?:\((?-i:TCRs?)\))?[- ]?(?:gene[- ])?(?:engineered|transduced|"
        r"modified|redirected|based|transgenic|therap\w*|T[- ]cells?)|(?:engineered|transduced|"
        r"modified|redirected|expressing)\s+(?:with\s+)?(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,3}?"
        r"(?:(?-i:\bTCRs?\b)|T[- ]cell receptors?)",
        "'T cell receptor-engineered T cells', 'T cells transduced with an NY-ESO-1 TCR'.",
    ),
    Rule(
        "tcr_t_antigen_tcr",
        "TCR-T",
        r"(?:NY-?ESO-?1|MAGE-?A\d+|PRAME|KK-?LC-?1|HPV[- ]?(?:16\s*)?E[67]|\bE[67]|AFP|WT-?1|HBV|"
        r"HBs?Ag|EBV|LMP-?2|KRAS\w*|TP53|p53|neoantigen|HA-?1|MART-?1|gp100|SSX-?2|CT83|HERV-E|"
        r"PIK3CA|HPV)[- ]?(?:specific\s+|reactive\s+|targeted\s+)?(?-i:TCRs?)\b",
        "A named peptide antigen before 'TCR' ('NY-ESO-1 TCR', 'E7 TCR', 'KK-LC-1 TCR').",
    ),
    Rule(
        "tcr_t_product",
        "TCR-T",
        r"\w+tresgene\b|\b(?:afami|lete|uza)-cel\b|\bADP-A2\w+|\bGSK3377794\b|\bIMA20[1-4]\b|"
        r"\bTAEST\d+\b|\bYT-E001\b",
        "INN stem -tresgene (afamitresgene, letetresgene) and codes of TCR-T products.",
        names_list=True,
    ),
    Rule(
        "tcr_t_intervention_token",
        "TCR-T",
        r"(?-i:\bTCRs?\b)",
        "A bare 'TCR' in an intervention name or title left after the masks (CAR signalling "
        "domains, knock-outs, TCR-like and soluble TCRs are masked) names a TCR product.",
        STRONG_TIERS,
    ),
    # ---- TIL ---------------------------------------------------------------------------
    Rule(
        "til_phrase",
        "TIL",
        r"tumou?r[- ]infiltrating lymphocytes?|tumou?r[- ]infiltrating T[- ]cells?",
        "Tumour-infiltrating lymphocytes as a product (biomarker uses are masked).",
    ),
    Rule(
        "til_token",
        "TIL",
        r"(?-i:\bTILs?\b)",
        "'TIL' in capitals as a word: 'until' and 'Til' never match.",
    ),
    Rule(
        "til_marrow",
        "TIL",
        r"marrow[- ]infiltrating lymphocytes?|(?-i:\bMILs\b)",
        "Marrow-infiltrating lymphocytes are expanded from the tumour site like TILs.",
    ),
    Rule(
        "til_product",
        "TIL",
        r"\b(?:lifileucel|Amtagvi|LN-14[45]\w*|ITIL-\d+|OBX-115|GT201)\b",
        "TIL product names and codes (lifileucel = LN-144).",
        names_list=True,
    ),
    # ---- NK (no CAR) ----------------------------------------------------------------------
    Rule(
        "nk_cells",
        "NK",
        r"(?-i:\bNK\b)(?:[- ]?92)?[- ]?(?:cells?|cell[- ]based|infusions?|therap\w*|"
        r"immunotherap\w*|products?|injection)\b|natural[- ]killer(?:\s*\((?-i:NK)\))?[- ]"
        r"(?:cells?|cell[- ]based|cell[- ]therap\w*)",
        "NK cells / NK cell infusion / natural killer cells (not 'natural killer T': it needs "
        "'cell' right after 'killer').",
    ),
    Rule(
        "nk_variants",
        "NK",
        r"(?-i:\bNK)[- ]?92\b|\b(?:haNK|aNK|CIML[- ]NK|iPSC[- ]?NK|memory[- ]like NK|ML[- ]NK|"
        r"cord blood[- ]NK|CB[- ]?NK|PB[- ]?NK)\b|\b(?:haploidentical|allogeneic|autologous|"
        r"expanded|activated)\s+(?-i:NK)\b|\bNK[- ](?:cell )?(?:injection|infusion)",
        "NK-92, memory-like (CIML) NK, iPSC-NK, haploidentical/allogeneic NK.",
    ),
    Rule(
        "nk_product_code",
        "NK",
        r"\b(?:SNK0\d|FT500|FT516|FT538|AB-101|CYNK-\d+|GDA-201|oNKord|DVX201|ACE1702|"
        r"EBNK-\d+|AXA-NK\d+)\b",
        "NK products named only by code (SNK01, FT516, AB-101, CYNK-001).",
        names_list=True,
    ),
    # ---- non-engineered NKT and gamma delta T (OTHER-CELL unless a CAR is present) -----------
    Rule(
        "nkt_cells",
        "NKT",
        r"\bi?(?-i:NKT)[- ]?cells?|natural killer T[- ]?cells?|invariant natural killer",
        "NKT/iNKT cell products without a CAR are OTHER-CELL.",
    ),
    Rule(
        "gdt_cells",
        "GDT",
        r"(?:γδ|gamma[- ]?delta|\bgd)[- ]?T[- ]?(?:cells?|lymphocytes?)?\b|\bgamma[- ]?delta\b",
        "Gamma delta T cells without a CAR are OTHER-CELL.",
    ),
    # ---- other adoptive cell products -------------------------------------------------------
    Rule(
        "other_cik",
        "OTHER-CELL",
        r"(?-i:\bCIKs?\b)|cytokine[- ]induced killer|(?-i:\bDC[- ]?CIK)",
        "Cytokine-induced killer (CIK, DC-CIK) cells.",
    ),
    Rule(
        "other_virus_specific_t",
        "VST",
        r"(?:virus|viral|EBV|CMV|adenovirus|BKV?|HPV|HIV|JCV?|HHV-?6|SARS-CoV-2|COVID-19|"
        r"multi-?virus|tri-?virus|Epstein[- ]Barr virus|cytomegalovirus)[- ]?(?:specific|directed|"
        r"reactive)\s+(?:cytotoxic\s+)?T[- ]?(?:cells?|lymphocytes?)|(?:specific|reactive|"
        r"autologous|allogeneic|donor[- ]derived|expanded)\s+(?:[\w-]+\s+){0,2}?cytotoxic "
        r"T[- ]lymphocytes?|(?-i:\b(?:VSTs?|EBV-?CTLs?|"
        r"CMV-?CTLs?|CTLs?)\b)|\b(?:tabelecleucel|tab-cel|posoleucel)\b",
        "Virus-specific T cells and other cytotoxic T lymphocytes (VST, EBV-CTL, tabelecleucel, "
        "posoleucel, donor CTLs). They often carry the CAR of a CAR-T trial ('HER2 CAR "
        "CMV-specific CTLs'), so they count only when no CAR/TCR product is named.",
    ),
    Rule(
        "other_ctl",
        "OTHER-CELL",
        r"(?:antigen|tumou?r|leuka?emia|neoantigen|cancer|WT1|PRAME|"
        r"multi-?antigen|multi-?tumou?r[- ]associated[- ]antigen)[- ](?:specific|reactive)\s+"
        r"(?:[^\s|]+\s+){0,2}?T[- ]?(?:cells?|lymphocytes?)",
        "Non-engineered tumour-antigen-specific T cells (PRAME-specific T cells); counted beside "
        "a CAR-T when given as a second product.",
    ),
    Rule(
        "other_treg",
        "OTHER-CELL",
        r"regulatory T[- ]?cells?|(?-i:\bT-?[Rr]egs?\b)|\bpolyclonal Tregs?\b|\bOrca-[TQ]\b",
        "Regulatory T cells, including Treg-containing grafts (Orca-T); a CAR-Treg is CAR-T.",
    ),
    Rule(
        "other_dc_vaccine",
        "OTHER-CELL",
        r"dendritic[- ]cells?(?:[- ]based)?[- ](?:vaccin\w*|immunotherap\w*|therap\w*|injection|"
        r"infusion)|(?-i:\bDCs?)[- ]?(?:vaccin\w*)|(?:tumou?r|lysate|antigen|peptide|mRNA)[- ]"
        r"(?:lysate[- ])?(?:pulsed|loaded)\s+(?:autologous\s+)?(?:dendritic|(?-i:DCs?\b))|"
        r"autologous dendritic cells?|\bsipuleucel|\bDCVax\w*|(?-i:\bDCvac)",
        "Dendritic cell vaccines and DC-based cell therapies.",
    ),
    Rule(
        "other_dc_product",
        "OTHER-CELL",
        r"dendritic cells?|(?-i:\bDCs?\b)",
        "Dendritic cells named as an intervention or in a title are a DC product.",
        STRONG_TIERS,
    ),
    Rule(
        "other_cell_product",
        "OTHER-CELL",
        r"\b(?:Viralym-M|Ebvallo|Provenge|ilixadencel)\b",
        "Other cell products by brand (posoleucel = Viralym-M, tabelecleucel = Ebvallo, "
        "sipuleucel-T = Provenge).",
        names_list=True,
    ),
    Rule(
        "other_adoptive",
        "OTHER-CELL",
        r"lymphokine[- ]activated killer|(?-i:\bLAK\b)[- ]cells?|macrophage therap\w*",
        "Other adoptive immune cell products (LAK cells, macrophage therapy). Donor lymphocyte "
        "infusions and memory T-cell add-backs after a transplant are part of the transplant.",
    ),
)

#: Cheap first pass over all text of a study: every positive rule above contains one of these
#: anchors (or is a `names_list` rule, which the prefilter includes verbatim), so a study matching
#: none of them can have no modality. Keeps the 600k-study bulk run to one scan for most studies.
PREFILTER_ANCHORS = Pattern(
    "prefilter_anchors",
    r"(?-i:CAR|Car[- ][tT]|TCR|TIL|NK|CIK|CTL|VST|DC|DLI|MILs|LAK|Treg|T-reg|TRuC|STAR|GDT)|"
    r"chimeric|cabtagene|leucel|-cel\b|tresgene|infiltrating|killer|gamma[- ]?delta|γδ|"
    r"\bgd[- ]?T|\bT[- ]?(?:cells?|lymphocytes?)\b|lymphocytes?\b|dendritic|macrophage|monocyte|"
    r"myeloid|in[- ]?vivo\s+(?:LV|lentivir|LNP)|redirected|\bE[67]\b",
    "Every positive rule needs one of these words; see test_prefilter_covers_every_rule.",
)

# --------------------------------------------------------------------------------------------
# Flags and guards.
# --------------------------------------------------------------------------------------------
LONG_TERM_FOLLOW_UP = Pattern(
    "long_term_follow_up",
    r"long[- ]?term (?:safety )?follow[- ]?up|long[- ]?term (?:safety|study|registry)|"
    r"(?-i:\bLTF[US]\b)|\b\d+[- ]years? (?:of )?follow[- ]?up|follow[- ]?up (?:study |protocol |"
    r"trial )?(?:of|for|in) (?:study )?(?:patients|subjects|participants|people|individuals)|"
    r"previously (?:treated|dosed|infused|administered) with|\brollover\b|"
    r"\bfollow[- ]?up (?:study|protocol) (?:of|for)\b",
    "Follow-up studies of patients treated earlier with a cell product (read in titles and "
    "interventions). Their subject is the product, so they keep the modality, flagged, and "
    "background masks are not applied to them. Other observational designs are not follow-up.",
)

LONG_TERM_FOLLOW_UP_SUMMARY = Pattern(
    "long_term_follow_up_summary",
    r"\b(?:this|the present|the current)\s+(?:study\s+|protocol\s+)?(?:is|will be)\s+an?\s+"
    r"(?:[\w,-]+\s+){0,2}?(?:long[- ]?term (?:safety )?follow[- ]?up|(?-i:LTF[US]))\b|"
    r"^\s*(?:this|the)\s+(?:[\w,-]+\s+){0,2}?(?:long[- ]?term (?:safety )?follow[- ]?up|(?-i:LTF[US]))\b",
    "A summary that says 'This is a long-term follow-up study' or opens with 'This long-term "
    "follow-up study'. Only these forms count: treatment trials often mention the separate "
    "follow-up study patients will join ('In this long-term follow-up study, each subject ...').",
)

#: Observational designs (cohorts, registries, real-world and claims studies of recipients):
#: nothing is given in the study, so no modality unless it is a long-term follow-up study.
OBSERVATIONAL = Pattern(
    "observational_design",
    r"\bobservational|real[- ]?world|real[- ]?life|retrospective|non[- ]?interventional|"
    r"claims data|phase (?:IV|4)\b|post[- ]?marketing|post[- ]?authori[sz]ation|\bregistry\b|"
    r"cohort study|chart review|data collection|treatment patterns?|delayed (?:effects|"
    r"toxicit\w*)|prospective evaluation",
    "Read in titles and acronyms (and in a summary that opens 'This is an observational ...').",
)

OBSERVATIONAL_SUMMARY = Pattern(
    "observational_summary",
    r"\b(?:this|the present|the current)\s+(?:is\s+an?\s+|was\s+an?\s+)?(?:[\w,-]+\s+){0,3}?"
    r"(?:observational|retrospective|real[- ]?world|non[- ]?interventional|registry)\b|"
    r"\bin (?:a |the )?real[- ]?world\b",
    "'This is a multicentre, observational ...', 'This was a retrospective cohort study', "
    "'... in the real world'.",
)

#: Approved or unnamed standard-of-care cell products. A trial whose only cell products are
#: these, and whose title names another agent, tests the add-on (labelling rule: add-ons to
#: standard CAR-T are NONE).
APPROVED_CAR_T = (
    r"tisagenlecleucel|axicabtagene(?: ciloleucel)?|brexucabtagene(?: autoleucel)?|"
    r"lisocabtagene(?: maraleucel)?|idecabtagene(?: vicleucel)?|ciltacabtagene(?: autoleucel)?|"
    r"obecabtagene(?: autoleucel)?|relmacabtagene(?: autoleucel)?|equecabtagene(?: autoleucel)?|"
    r"zevorcabtagene(?: autoleucel)?|Kymriah|Yescarta|Tecartus|Breyanzi|Abecma|Carvykti|"
    r"Aucatzyl|(?:tisa|axi|brexu|liso|ide|cilta|obe|relma|eque|zevor)-cel"
)
_GENERIC_CAR_T = (
    r"(?:(?:standard[- ]of[- ]care|commercial|(?-i:SOC)|approved|FDA[- ]approved)\s+)?"
    r"(?:(?-i:CAR)[- ]?T(?:[- ]?cells?)?(?:[- ](?:cell[- ])?"
    r"(?:therap\w*|treatment|infusions?))?|chimeric antigen receptor(?:\s*\((?-i:CAR)\))?[- ]T[- ]"
    r"cells?(?:[- ]therap\w*)?|chimeric antigen receptor(?:\s*\((?-i:CAR)\))?(?:[- ]T[- ]cells?)?[- ]"
    r"(?:therap\w*|treatment)(?:[- ]infusions?)?)"
)

#: An intervention item that is only an approved or unnamed standard-of-care CAR-T product
#: (the whole item: "Axicabtagene Ciloleucel", "CAR T-cell therapy", "Commercial CAR-T").
STANDARD_CELL_ITEM = Pattern(
    "standard_cell_item",
    r"^\s*(?:infusion of\s+)?(?:" + _GENERIC_CAR_T + "|(?:" + APPROVED_CAR_T + r")(?:\s+\w+)?)"
    r"(?:\s*\([^)|]*\))?(?:\s+(?:intravenous suspension|injection|infusion|product|therapy))?"
    r"\s*$",
    "A trial whose only cell products are these, and whose title names another agent, tests "
    "the add-on (labelling rule: add-ons to standard CAR-T are NONE).",
)

#: The same products named in a title as the setting: after a function word, a comma or at the
#: start ("Glofitamab combined with CAR-T therapy", "CAR T-cell therapy in combination with
#: X"). "CD19 CAR-T" or "universal CAR-T" are not matched: a qualifier makes it a product.
STANDARD_CELL_TITLE = Pattern(
    "standard_cell_title",
    r"(?:^|[,(:;+]\s*|\b(?:with|and|plus|after|post|following|before|prior to|to|of|in|for|"
    r"combined with|combination with|followed by|then)\s+)(?:" + _GENERIC_CAR_T + r")(?:[^-\w]|$)|"
    r"\bCD19[- ](?:directed|targeted)\s+"
    + _GENERIC_CAR_T
    + r"\s*\((?:"
    + APPROVED_CAR_T
    + r")\)|\b(?:"
    + APPROVED_CAR_T
    + r")\b",
    "Approved CAR-T names and generic 'CAR-T cell therapy' in a title.",
)

#: The title names a non-cell agent (drug-name stems, sponsor codes such as NKTR-255 or E7777)
#: or an add-on design.
ADD_ON_AGENT = Pattern(
    "add_on_agent",
    r"\w(?:mab|nib|lib|domide|stat|clax|limus|abine|platin|zomib|lisib|parib|cept|mycin|"
    r"rubicin|taxel|poside|phamide)\b|\b(?:chidamide|selinexor|retinoic|quercetin|glofit\w*|"
    r"interleukin|maintenance|bridging|lymphodepletion|conditioning|dosing|senolytic\w*|bispecific|"
    r"radiotherapy|radiation|irradiation|microbio\w*)\b|(?-i:\b[A-Z]{2,6}-[0-9]{2,}[A-Za-z0-9]*"
    r"\b|\b[A-Z][0-9]{3,}\b|\bNT-I7\b|\bIL-\d+\b)",
    "Non-cell agents and add-on designs in a title.",
)

#: A head-to-head comparison tests the cell product even when the other arm is a drug: the
#: approved/standard product comes first ("Tisagenlecleucel vs blinatumomab").
COMPARISON = Pattern(
    "comparison",
    r"(?:" + _GENERIC_CAR_T + "|" + APPROVED_CAR_T + r")\b[^|]*?\b(?:vs\.?|versus|compared? "
    r"(?:to|with)|comparing)\b|\bcompar(?:ing|ison|e)\b[^|]*?(?:"
    + _GENERIC_CAR_T
    + "|"
    + APPROVED_CAR_T
    + r")",
    "Titles that compare a standard cell product with another treatment (either order).",
)

#: Drug-type agents in a title (no sponsor codes: a code in a title is often the cell product).
ADD_ON_DRUG = Pattern(
    "add_on_drug",
    r"\w(?:mab|nib|domide|clax|zomib|lisib|parib)\b|\b(?:chidamide|selinexor|bispecific "
    r"antibod\w*|T[- ]cell engagers?|BiTEs?)\b",
    "A title with one of these and a product, whose interventions list no cell product, "
    "tests the drug ('Bridging bispecific antibody treatment with BCMA CAR-T').",
)


#: In vivo CAR: the CAR is generated inside the patient (lentiviral or LNP delivery, in vivo
#: CAR-T/CAR-M products). Flag only; the modality stays CAR-T (or CAR-M). Several patterns so
#: that each window runs as its own regex pass.
IN_VIVO_CAR: tuple[Pattern, ...] = (
    Pattern(
        "in_vivo_car_phrase",
        r"\bin[- ]?vivo[- ](?:(?:generated|engineered|programm\w*|reprogramm\w*|delivered|"
        r"transduced|circular|RNA|mRNA|LNP|lentivir\w*|targeted|[\w/]*-?targeted|gene[- ]therapy|"
        r"anti-\w+|\w*CD\d+\w*|BCMA|T[- ]cell)[- ]){0,3}(?:(?-i:CAR)|chimeric antigen receptor)",
        "'in vivo CAR-T', 'in vivo circular RNA chimeric antigen receptor T cell'; the word list "
        "keeps out 'in vivo expansion of CAR-T cells'.",
    ),
    Pattern(
        "car_made_in_vivo",
        r"(?:(?-i:CAR)|chimeric antigen receptor)[- ]?T?[- ]?(?:cells?\s+)?(?:generated|produced|"
        r"engineered|programmed|reprogrammed|made|created)\s+in[- ]?vivo",
        "'CAR-T cells generated in vivo'.",
    ),
    Pattern(
        "in_vivo_vector_injection",
        r"\bin[- ]?vivo\s+(?:LV|lentivir\w*|LNP)\s+(?:injection|vector|particles?)",
        "'Targeted BCMA In Vivo LV Injection'.",
    ),
    Pattern(
        "lnp_encoding_car",
        r"(?:lipid nanoparticles?|(?-i:LNPs?))[^|]{0,100}?(?:(?-i:\bCARs?\b)|chimeric antigen "
        r"receptor)|(?:(?-i:\bCARs?\b)|chimeric antigen receptor)[^|.]{0,60}?(?:lipid "
        r"nanoparticles?|(?-i:LNPs?)\b)",
        "LNP-delivered RNA encoding a CAR.",
    ),
    Pattern(
        "in_vivo_car_product",
        r"\b(?:UB-VV\d+|INT2104|ESO-T01|CPTX2309|KLN-1010|MT-30[234]|KSVCBD|V001-BCMA)\b",
        "In vivo CAR products known by code (Umoja UB-VV, Interius INT2104, EsoBiotec ESO-T01, "
        "Capstan CPTX2309, Kelonia KLN-1010, Myeloid MT-30x).",
    ),
)

#: Every in vivo pattern needs one of these; the windowed passes only run where one occurs.
IN_VIVO_ANCHOR = Pattern(
    "in_vivo_anchor",
    r"in[- ]?vivo|lipid nanoparticle|(?-i:LNP)|UB-VV|INT2104|ESO-T01|CPTX2309|KLN-1010|MT-30|"
    r"KSVCBD|V001-BCMA",
    "Cheap pre-check for IN_VIVO_CAR.",
)

#: Title says the study tests something other than the cell product (toxicity management,
#: supportive care, imaging, outcomes research): no modality, even if the product is named.
HARD_DESIGN_VETO = Pattern(
    "design_not_cell_product",
    r"\b(?:prevent\w*|prophyla\w*|pre-?empt\w*|manag\w*|mitigat\w*|reduc\w*|alleviat\w*|"
    r"attenuat\w*|predict\w*|monitor\w*|"
    r"detect\w*|early recognition|role of|therapy for|treatment of|treating)\W+(?:[\w/+.-]+\W+)"
    r"{0,5}?(?:cytokine release|(?-i:CRS)\b|(?-i:ICANS)|neurotox\w*|neurologic\w* (?:toxicit|"
    r"events|adverse)|encephalopathy|(?-i:HLH)|hemophagocytic|macrophage activation|febrile "
    r"neutropenia|toxicit\w*|side[- ]effects|adverse events|hypogammaglobulin\w*|"
    r"B[- ]cell aplasia)|\b(?:cytokine release syndrome|(?-i:CRS|ICANS)|neurotoxicity|"
    r"toxicit(?:y|ies)|cytopenias?)\s+(?:prevention|prophylaxis|management|treatment|"
    r"mitigation)|\b(?:tocilizumab|anakinra|siltuximab|defibrotide|itacitinib|emapalumab|"
    r"lenzilumab|IVIG|intravenous immunoglobulin|immunoglobulin replacement|antibiotic "
    r"prophylaxis|simvastatin|levetiracetam)\b|\b(?:quality of life|(?-i:QoL|QUALITY OF LIFE)|"
    r"patient[- ]reported|exercise|physical (?:activity|function|therapy)|rehabilitat\w*|"
    r"prehabilitat\w*|nutrition\w*|diet|ketogenic|cognitive|cognition|neurocognitive|"
    r"neuropsych\w*|psycholog\w*|psychosocial|distress|sleep|fatigue|virtual reality|relaxation|"
    r"mindfulness|yoga|palliative|supportive care|caregivers?|telehealth|telemedicine|"
    r"smartphone|wearable|voice|temperature|financial|costs?|economic|cost-effectiveness|"
    r"resource use|(?-i:HRU)|claims data|barriers?|disparit\w*|survey|questionnaires?|"
    r"imaging|(?-i:PET)|positron|(?-i:MRI)|magnetic resonance|radiomic\w*|"
    r"echocardiograph\w*|cardiac|cardiovascular|cardiotox\w*|cardio-oncology|microbio\w*|"
    r"fecal|faecal|stool|immune reconstitution|immune fitness|immunophenotyp\w*|biomarkers? "
    r"(?:of|for|to|study|studies|as)|biospecimens?|biobank|production and expansion|"
    r"sample collection|sampling|geriatric assessment)\b",
    "These studies test a drug against CRS/ICANS, supportive care, QoL, imaging, costs or "
    "biomarkers in patients who get a cell product as standard care.",
)

#: Same idea, but only when the title names no cell product itself (a CAR-T trial may add a
#: vaccine or be compared with a bispecific antibody).
SOFT_DESIGN_VETO = Pattern(
    "design_other_product",
    r"\bvaccin\w*|bispecific (?:antibod\w*|T[- ]cell engager\w*)|T[- ]cell engager\w*|"
    r"\b(?:teclistamab|talquetamab|elranatamab|linvoseltamab|glofitamab|epcoritamab|"
    r"mosunetuzumab|odronextamab|blinatumomab|tarlatamab|infections?|infectious|"
    r"ctDNA|circulating tumou?r DNA|cell-free DNA|next-generation sequencing|MRD)\b",
    "Vaccine, bispecific antibody and infection studies, when the title does not itself name a "
    "cell product (bridging designs are combinations: see GUARDS).",
)

#: Title words that name an investigational cell product without saying which kind; they keep
#: a vaccine/bispecific/infection title from being vetoed so the summary can decide.
TITLE_CELL_PRODUCT = Pattern(
    "title_cell_product",
    r"(?:investigational|engineered|autologous|allogeneic|gene[- ]modified|genetically "
    r"modified|adoptive|immune)\s+(?:\w+\s+)?cell(?:ular)?\s+(?:therap\w*|immunotherap\w*|"
    r"products?|injection|infusion)|\bcells?\s+(?:injection|infusion)",
    "'An investigational cell therapy given with an RNA vaccine' is a cell-therapy trial.",
)

#: An intervention item naming a cell therapy of unstated kind is not a plain non-cell item.
ITEM_CELL_THERAPY = Pattern(
    "item_cell_therapy",
    r"\bcell(?:ular)?[- ](?:therap\w*|immunotherap\w*|injection|infusion|products?)",
    "'Cell therapy with bispecific antibodies' is a cell product of unstated kind.",
)

#: ... unless the cells are a stem-cell graft.
STEM_CELL_ITEM = Pattern(
    "stem_cell_item",
    r"stem[- ]cells?|hematopoietic|haematopoietic",
    "'Autologous stem cell infusion' is a transplant, not an immune cell product.",
)

#: Lymphodepleting chemotherapy listed as an intervention announces a cell product.
LYMPHODEPLETION = Pattern(
    "lymphodepletion",
    r"cyclophosphamid\w*|fludarabin\w*|bendamustin\w*|lymphodeplet\w*|(?-i:\bCTX\b|\bFLU\b)",
    "Cy/Flu alone in the intervention list still means a cell product is given.",
)

#: An intervention item that is clearly not a cell product (drug stems, procedures, devices,
#: behavioural programmes). When every listed intervention is one of these, the summary alone
#: cannot make the trial a cell-therapy trial.
NON_CELL_INTERVENTION = Pattern(
    "non_cell_intervention",
    r"\w(?:mab|cept|nib|lib|parib|zomib|lisib|platin|taxel|rubicin|mycin|abine|mustine|phamide?|"
    r"fosfamide?|poside|tecan|mide|olone|sone|statin|prazole|vir|cillin|floxacin|azole|parin|"
    r"xaban|sartan|pril|olol|dipine|glutide|relin|clax|stat)\b|\b(?:placebo|vaccin\w*|standard "
    r"of care|best supportive|chemotherap\w*|radiation|radiotherap\w*|irradiation|transplant\w*|"
    r"stem cell|imaging|computed tomography|scan|x-ray|ultrasound|microscopy|questionnaires?|"
    r"surveys?|interviews?|assessments?|tests?|testing|exercise|training|education|coaching|"
    r"counsel\w*|program|programs|programme|app|device|monitor\w*|sticker|sensors?|wearable|"
    r"virtual reality|relaxation|diet\w*|drinks?|supplement\w*|nutrition\w*|"
    r"blood (?:sample|draw|collection|test)\w*|biospecimens?|specimen collection|biops\w*|"
    r"aspiration|sampling|laboratory|observation\w*|no intervention|non-interventional|"
    r"data collection|record review|health record|registry|palliative|psycho\w*|immunoglobulin|"
    r"antibiotic\w*|filgrastim|aldesleukin|interleukin|leukapheresis|apheresis|lymphodeplet\w*|"
    r"conditioning|bridging therap\w*|immunophenotyp\w*|control|vedotin|ozogamicin|tacrolimus|"
    r"sirolimus|rapamycin|inhibitors?|antibod\w*|bispecific|cognition|daily living|scales?|"
    r"social support|timed up|gait|frailty|walk test)\b|(?-i:\b(?:PET|MRI|IVIG|G-CSF|R-CHOP|FOLFOX)\b)|"
    r"(?-i:\b(?:TBI|TLI|HSCT|ASCT))(?:[^-\w]|$)",
    "Drug-name stems and non-product interventions (procedures, tests, devices, programmes). "
    "Upper-case acronyms are matched case-sensitively and TBI/TLI must not start a product code "
    "(TBI-1501 is a CAR-T).",
)

#: Words in a title or intervention that say a cell product is given even when its kind is only
#: stated in the summary ("XYZ cell injection", "autologous T cells").
CELL_HINT = Pattern(
    "cell_hint",
    r"\b(?:T|NK|immune|killer|effector|modified|engineered|autologous|allogeneic|universal|"
    r"donor)[- ]?cells?\b|\bcells?[- ](?:injection|infusion|therap\w*|products?|suspension)|"
    r"cellular (?:therap|immunotherap)\w*|lymphocytes?\b|gene therap\w*|gene[- ]modified|"
    r"genetically|redirected|adoptive",
    "Product-type words that let the summary decide the modality of a code-named product.",
)

# --------------------------------------------------------------------------------------------
# Roles. What a trial does with the product decides its role (trial_modalities.role):
# investigational (the product is what it tests), combination (a standard product is the
# backbone of a combination, bridging, lymphodepletion, consolidation or augmentation design),
# follow_up (nothing is given: treated patients are followed as the exposure). Supportive care
# around a standard product, or a product only named as the setting, gives no row at all.
# --------------------------------------------------------------------------------------------

#: A title that names a combination design around the product: bridging, lymphodepletion,
#: augmentation/expansion, or an agent joined to a cell product ("X plus CAR-T", "CAR-T with X").
COMBINATION_DESIGN = Pattern(
    "combination_design",
    r"\bbridg\w*|lymphodeplet\w*|\baugment\w*|\bboost\w*|\bconsolidat\w*|"
    r"\b(?:expand\w*|expansion|persistence)\s+(?:of\s+)?(?:the\s+)?(?:(?-i:CAR)|chimeric|cells?\b)|"
    r"(?:\bplus|\+|\bcombined with|\bin combination with|\bcombination of|\btogether with|"
    r"\balong with|\bfollowed by|\bbefore|\bprior to|\bpreceding)\s+(?:\w+\s+){0,3}?"
    r"(?:(?-i:CAR)[- ]?T|chimeric antigen receptor|\w*cabtagene|tisagenlecleucel|"
    r"(?:tisa|axi|brexu|liso|ide|cilta|obe|relma|eque|zevor)-cel|cell(?:ular)? therap)|"
    # ... and the product first: "Brexucabtagene Autoleucel Plus Dasatinib".
    r"(?:\w*cabtagene(?:\s+\w*leucel)?|tisagenlecleucel|(?:tisa|axi|brexu|liso|ide|cilta|obe|relma|"
    r"eque|zevor)-cel|(?-i:CAR)[- ]?T(?:[- ]cells?)?(?:[- ]therapy)?)\s+(?:plus|\+|combined with|"
    r"in combination with|together with|with)\s+\w",
    "'Talquetamab bridging followed by cilta-cel', 'Lymphodepletion with TBI before tisa-cel', "
    "'NT-I7 to expand CAR-T': the protocol gives the product as part of the tested regimen.",
)

#: Outcome research on treated patients (toxicity, cognition, cardiac, QoL, costs, imaging of the
#: product, biomarkers): when the protocol gives nothing but assessments, a follow-up of the
#: product's recipients.
OUTCOME_RESEARCH = Pattern(
    "outcome_research",
    r"\b(?:quality of life|(?-i:QoL)|patient[- ]reported|neuro-?cognit\w*|cognitive|cognition|"
    r"cardiac (?:function|events?|outcomes?|effects?|toxicit\w*|assessment)|cardiovascular|"
    r"cardiotox\w*|costs?|economic|resource use|"
    r"(?-i:HRU)|claims|imaging|(?-i:PET|MRI)|magnetic resonance|radiomic\w*|tracer|trafficking|"
    r"biodistribution|biomarkers?|immune reconstitution|delayed (?:effects|toxicit\w*)|late "
    r"effects|monitoring|infections?|geriatric|survivorship|older patients|elderly patients)\b",
    "'Neurocognitive assessment in adults undergoing CD19 CAR-T', 'PET imaging of CAR-T "
    "trafficking', 'Cardiovascular effects of CART therapy'.",
)

#: An intervention item that only measures (questionnaires, tests, samples, imaging, records).
ASSESSMENT_ITEM = Pattern(
    "assessment_item",
    r"\b(?:questionnaires?|surveys?|interviews?|assessments?|tests?|testing|scales?|scores?|"
    r"measures?|instruments?|evaluations?|(?-i:MRIs|EORTC|FACT|PROMIS|QLQ)\w*|"
    r"blood (?:samples?|draws?|withdrawal|"
    r"collection|tests?)|biospecimens?|specimen collection|sampling|samples?|biops\w*|aspiration|"
    r"lumbar puncture|imaging|tomography|scans?|(?-i:PET|MRI)|(?-i:\bCT)(?:[\s/,;)]|$)|"
    r"magnetic resonance|"
    r"echocardiogra\w*|electrocardiogra\w*|x-ray|ultrasound|record review|health records?|"
    r"data collection|observation\w*|no intervention|non-interventional|monitoring|"
    r"immunophenotyp\w*|cognition|neuropsycholog\w*|activit(?:y|ies) of daily living|(?-i:ADLs?)|"
    r"social support|tracers?|radiotracers?|radiolabel\w*|contrast|[0-9]{1,3}\s?(?:Ga|F|Cu|Zr|Tc|In)-|"
    r"gait|walk test|timed up|leukapheresis|apheresis|follow-up)\b",
    "Measurement items: a protocol listing only these (and the product) gives no treatment.",
)

#: An intervention item that only collects material (blood, marrow, apheresis): a study listing
#: nothing else gives no product (sample collection for manufacturing or preclinical work).
SAMPLING_ITEM = Pattern(
    "sampling_item",
    r"\b(?:sampl\w*|(?:blood|marrow|specimen|biospecimen|sample|tissue) (?:collection|draw\w*)|"
    r"leukapheresis|apheresis|donation)\b",
    "'Bone marrow and blood sampling', 'leukapheresis; peripheral blood collection'.",
)

#: The summary joins an agent to a (standard) product: "N-AC given in combination with Yescarta".
COMBINATION_SUMMARY = Pattern(
    "combination_summary",
    r"\b(?:in combination with|combined with|together with|given with|added to|in addition to)\s+"
    r"(?:\w+\s+){0,2}?(?:(?-i:CAR)[- ]?T|chimeric antigen receptor|\w*cabtagene|tisagenlecleucel|"
    r"(?:tisa|axi|brexu|liso|ide|cilta|obe|relma|eque|zevor)-cel|Kymriah|Yescarta|Tecartus|Breyanzi|"
    r"Abecma|Carvykti|Aucatzyl)",
    "The protocol gives the product as part of the regimen, said in the summary only.",
)

#: A drug or biological in a title that is the subject of an observational study ("Real-world
#: teclistamab after BCMA CAR-T"): the cell product is then only the patients' history.
OTHER_AGENT_TITLE = Pattern(
    "other_agent_title",
    r"\w(?:mab|nib|domide|clax|zomib|lisib|parib|tafusp|mafodotin|ozogamicin|vedotin)\b|"
    r"\bbispecific\w*|\bT[- ]cell engagers?",
    "Drug names in an observational title: the study follows that drug, not the cell product.",
)


#: "Patients with ...", "participants treated with ...": not a combination ("X with CAR-T").
#: Masked in the title the combination-design feature reads ("title_design").
PATIENTS_WITH = Pattern(
    "patients_with",
    r"\b(?:patients?|participants?|subjects?|people|persons?|adults?|children|adolescents?|"
    r"individuals?|those|treated|diagnosed|infants?|recipients?)\s+(?:\w+\s+)?with\b",
    "'Expanded access for patients with out-of-specification axi-cel' joins no agent to it.",
)

#: A parenthesised study acronym ("(TRANSCEND-PILOT-017006)", "(ZUMA-12)") is not an agent.
STUDY_ACRONYM = Pattern(
    "study_acronym",
    r"\((?-i:[A-Z][A-Za-z]{2,})(?:-[A-Za-z0-9]+)+\)",
    "Trial acronyms in parentheses look like sponsor codes to the add-on test.",
)


#: Engine features the guards combine (computed by transform/classify/guards.py; regex features
#: name the Pattern they test and the text it is tested on).
#:   ltfu                 long-term follow-up wording (LONG_TERM_FOLLOW_UP[_SUMMARY])
#:   observational        observational design (OBSERVATIONAL[_SUMMARY], study type, no intervention)
#:   exposure             ltfu or observational (read with lexical masks only)
#:   title_names_product  a cell-product rule matches the fully masked title
#:   title_mentions_product  ... the title with lexical masks only (context kept)
#:   title_background     the background masks removed a product from the title
#:   iv_names_product     a cell-product rule matches an intervention
#:   investigational_item an intervention item is a cell product that is not a standard one
#:   standard_product     an item or the title names an approved or unnamed standard CAR-T
#:   has_interventions    interventions are listed
#:   other_item           an item is neither a cell product, an assessment nor lymphodepletion
#:   assessment_only      every item is an assessment
#:   sampling_only        every item collects material (SAMPLING_ITEM)
#:   named_standard_item  an item is an approved product by name (not 'CAR-T cells')
#:   add_on_title         the title names another agent and no investigational product
@dataclass(frozen=True)
class Feature:
    """A regex feature: `pattern` tested on one text of the trial (`on`)."""

    name: str
    pattern: Pattern
    #: "title" (raw titles), "title_masked" (titles after every mask), "summary" (brief summary).
    on: str


FEATURES: tuple[Feature, ...] = (
    Feature("hard_veto", HARD_DESIGN_VETO, "title"),
    Feature("soft_veto", SOFT_DESIGN_VETO, "title"),
    Feature("title_cell_product", TITLE_CELL_PRODUCT, "title"),
    Feature("combination_design", COMBINATION_DESIGN, "title_design"),
    Feature("comparison", COMPARISON, "title"),
    Feature("outcome_research", OUTCOME_RESEARCH, "title"),
    Feature("other_agent_title", OTHER_AGENT_TITLE, "title"),
    Feature("add_on_drug", ADD_ON_DRUG, "title_masked"),
    Feature("lymphodepletion_title", LYMPHODEPLETION, "title"),
    Feature("combination_summary", COMBINATION_SUMMARY, "summary"),
)

FOLLOW_UP = "follow_up"
COMBINATION = "combination"
NO_ROW = "no_row"
INVESTIGATIONAL = "investigational"
GUARD_OUTCOMES = (FOLLOW_UP, COMBINATION, NO_ROW)


@dataclass(frozen=True)
class Guard:
    """A design guard: when every condition holds, `outcome` decides the trial's rows.

    Conditions name FEATURES or the engine features listed above; a leading "!" negates.
    Precedence is the order of GUARDS: the first guard that holds decides; a trial no guard
    catches is investigational.
    """

    name: str
    outcome: str
    when: tuple[str, ...]
    reason: str


GUARDS: tuple[Guard, ...] = (
    Guard(
        "exposure_other_agent",
        NO_ROW,
        ("exposure", "other_agent_title", "title_background", "!title_names_product"),
        "A real-world or follow-up study of a drug in patients previously given a cell product.",
    ),
    Guard(
        "long_term_follow_up",
        FOLLOW_UP,
        ("ltfu",),
        "LTFU protocols give no product; their subject is patients treated earlier.",
    ),
    Guard(
        "sampling_only",
        NO_ROW,
        ("has_interventions", "sampling_only"),
        "Blood or marrow sampling for manufacturing or preclinical work: nobody is treated.",
    ),
    Guard(
        "observational",
        FOLLOW_UP,
        ("observational", "!other_item"),
        "Registries, real-world, retrospective and claims studies follow treated patients "
        "(a study that gives something else, such as coaching, is judged by the guards below).",
    ),
    Guard(
        "outcome_research",
        FOLLOW_UP,
        ("outcome_research", "!other_item", "!investigational_item", "title_mentions_product"),
        "Cognition, cardiac, QoL, imaging or biomarker studies that only assess recipients.",
    ),
    Guard(
        "assessment_only",
        FOLLOW_UP,
        ("has_interventions", "assessment_only", "!iv_names_product", "title_mentions_product"),
        "Every listed intervention is an assessment of patients who received the product.",
    ),
    Guard(
        "supportive_care",
        NO_ROW,
        ("hard_veto",),
        "CRS/ICANS or infection prophylaxis, supportive care, rehabilitation, devices.",
    ),
    Guard(
        "other_product_title",
        NO_ROW,
        (
            "soft_veto",
            "!title_names_product",
            "!title_cell_product",
            "!iv_names_product",
            "!combination_design",
        ),
        "Vaccine, bispecific or infection studies whose title names no cell product.",
    ),
    Guard(
        "background_combination",
        COMBINATION,
        ("title_background", "!title_names_product", "!investigational_item", "combination_design"),
        "'Bridging radiotherapy before CAR-T', 'Lymphodepletion with TBI before tisa-cel'.",
    ),
    Guard(
        "background_given",
        COMBINATION,
        (
            "title_background",
            "!title_names_product",
            "!investigational_item",
            "standard_product",
            "iv_names_product",
        ),
        "'NT-I7 post-axi-cel' listing the CAR-T as an intervention: the protocol gives it.",
    ),
    Guard(
        "background_combination_summary",
        COMBINATION,
        (
            "title_background",
            "!title_names_product",
            "!investigational_item",
            "combination_summary",
            "!hard_veto",
        ),
        "'N-acetylcysteine in people receiving CAR-T' whose summary gives it with Yescarta.",
    ),
    Guard(
        "background_only",
        NO_ROW,
        ("title_background", "!title_names_product", "!investigational_item"),
        "'Iberdomide after ide-cel', 'Talquetamab after BCMA CAR-T': the product is history.",
    ),
    Guard(
        "add_on_drug_bridging",
        COMBINATION,
        (
            "add_on_drug",
            "has_interventions",
            "!iv_names_product",
            "!investigational_item",
            "combination_design",
        ),
        "'Bridging bispecific antibody with BCMA CAR-T' listing only the antibody.",
    ),
    Guard(
        "add_on_drug_only",
        NO_ROW,
        ("add_on_drug", "has_interventions", "!iv_names_product", "!investigational_item"),
        "A drug trial whose title names a product but whose interventions do not.",
    ),
    Guard(
        "add_on_standard",
        COMBINATION,
        ("add_on_title", "!investigational_item", "standard_product", "title_mentions_product"),
        "An agent added to an approved or unnamed standard CAR-T (axi-cel + utomilumab).",
    ),
    Guard(
        "standard_in_combination",
        COMBINATION,
        (
            "combination_design",
            "!investigational_item",
            "standard_product",
            "title_mentions_product",
            "has_interventions",
            "!comparison",
        ),
        "'Pembro plus CAR T-cell therapy' listing a standard CAR-T: the product is the backbone.",
    ),
    Guard(
        "lymphodepletion_design",
        COMBINATION,
        ("add_on_title", "!investigational_item", "standard_product", "lymphodepletion_title"),
        "'A study of fludarabine dosing' before a standard CAR-T listed as an intervention.",
    ),
    Guard(
        "add_on_named_product",
        COMBINATION,
        ("add_on_title", "!investigational_item", "named_standard_item"),
        "'Duvelisib exposure ...' listing tisagenlecleucel: a named product the protocol gives.",
    ),
    Guard(
        "add_on_prior_exposure",
        NO_ROW,
        ("add_on_title", "!investigational_item", "standard_product"),
        "A drug trial listing 'CAR-T cells' as prior exposure; the title names no product.",
    ),
)

# --------------------------------------------------------------------------------------------
# Cell source (trial_flags.cell_source): explicit wording first (titles and interventions, then
# the summary: basis 'stated'), then the product dictionary ('product'), then the inferences
# below ('inferred'), else 'unclear'. Transplant phrases are masked first: "after allogeneic
# HSCT" says nothing about the CAR-T.
# --------------------------------------------------------------------------------------------
CELL_SOURCE_CONTEXT = Pattern(
    "cell_source_context",
    r"\b(?:allo(?:geneic|genic)?|auto(?:logous)?)(?:\s*(?:and|or|/|and/or)\s*(?:allo(?:geneic|genic)?|"
    r"auto(?:logous)?))?[- ]?(?:hematopoietic |haematopoietic |peripheral "
    r"blood |bone marrow )?(?:stem[- ]cells?|(?-i:HSCT|HCT|SCT|PBSCT|ASCT|HSC)|transplant\w*|"
    r"progenitor\w*|graft\w*)|(?-i:\bASCT\b|\bHSCT\b)|donor lymphocyte infusions?|(?-i:\bDLI\b)|"
    r"graft[- ]versus[- ]host|(?:HSCT|stem cell) donors?",
    "Transplants, DLI and GVHD use the same words but are not the cell product's source.",
)

AUTOLOGOUS_WORDS = Pattern(
    "autologous_words",
    r"\bautolog\w*|\bautoleucel\b|\bpatients?'?s? own\b|\b(?:their|his|her|participants'?|"
    r"subjects'?) own\b|\bown (?:immune |T[- ]|white blood )?cells\b|\bfrom the patient|"
    r"autotransfusion|\b(?:undergo|undergoing|will undergo|underwent)\s+(?:a\s+)?leukapheresis|"
    r"leukapheresis (?:procedure )?will be performed|(?:made|manufactured|derived|collected) from "
    r"(?:the\s+)?(?:isolated\s+)?patient|taken from (?:their|the patient'?s?) (?:body|blood)|"
    r"\bautoleucel\b",
    "Autologous product wording, including the -autoleucel INN suffix.",
)


ALLOGENEIC_WORDS = Pattern(
    "allogeneic_words",
    r"\ballogene?ic\b|\ballo[- ]?(?-i:CAR)|\buniversal\b|(?-i:\bU-?CAR)|off[- ]the[- ]shelf|"
    r"donor[- ]derived|(?:healthy|third[- ]party|unrelated|related|haploidentical|original|"
    r"matched) donors?|from (?:a |the )?(?:healthy )?donors?|cord[- ]blood|umbilical|"
    r"(?-i:\biPSCs?\b)|i(?-i:PSC)[- ]|induced pluripotent|pluripotent stem|(?-i:NK)[- ]?92\b|"
    r"ready[- ]made|\bbanked\b|zapreleucel|\bdonor(?:[- ]derived)?\s+(?:T[- ]?cells?|"
    r"lymphocytes|NK)|(?-i:\bNK)[- ]?92",
    "Allogeneic product wording: donor-derived, universal/UCAR, off-the-shelf, cord-blood or "
    "iPSC-derived cells, NK-92.",
)

# --------------------------------------------------------------------------------------------
# Cell source inference (trial_flags.cell_source_basis = 'inferred'). Read only when neither the
# wording ('stated') nor the product dictionary ('product') decides and the CAR is not made in
# vivo. Every scanned field is read (transplant phrases masked as above). Any block leaves the
# source unclear; otherwise the first SOURCE_INFERENCES rule whose modalities and cue fit gives
# the source. An analyst who wants only what the record or the dictionary says filters
# cell_source_basis in ('stated', 'product').
# --------------------------------------------------------------------------------------------
PATIENT_CELLS_CUE = Pattern(
    "patient_cells_cue",
    r"\b(?:leuka?|leuko)?pheresis\b|\bapheresis\b|\bPBMCs?\b|peripheral blood mononuclear cells? "
    r"(?:\w+ ){0,3}(?:collect|harvest|obtain|isolat)\w*|\b(?:subject|patient|participant)s?'?s?'? "
    r"(?:\w+ ){0,3}(?:T[- ]?cells?|lymphocytes|white blood cells|immune cells|blood cells)\b|\byour "
    r"(?:\w+ ){0,2}(?:T[- ]?cells?|white blood cells|blood cells)\b|(?:collected|obtained|harvested|"
    r"isolated) from (?:the |each )?(?:patients?|subjects?|participants?)\b|\b(?:lymphocytes|T[- ]?cells|"
    r"PBMCs?|blood) (?:\w+ ){0,2}(?:collected|harvested)\b|\breinfus\w*|\bautolog\w*",
    "Collecting the patient's cells (leukapheresis, apheresis, PBMC harvest, 'lymphocytes will be "
    "collected'), 'the subject's T cells', 'reinfusion' (the cells go back), or 'autologous' in a "
    "field the stated wording does not read: the product is made from the patient's own cells.",
)

DONOR_SIGNAL = Pattern(
    "donor_signal",
    r"\bdonors?\b|\bdonated\b|third[- ]party|\bHLA[- ](?:matched|mismatched|haplo\w*)|"
    r"\bhaplo(?:identical)?\b",
    "A donor named anywhere outside transplant phrases (donor-derived arms, 'new donor', 'no "
    "suitable donor'): the product may come from someone else, so no source is inferred.",
)

GENE_EDITED_SIGNAL = Pattern(
    "gene_edited_signal",
    r"\bCRISPR|\bTALENs?\b|\bgene[- ]?edit\w*|\bbase[- ]edit\w*|\bknock[- ]?out|(?-i:\bKO\b)|"
    r"(?-i:\bTRAC\b)|\bTCR[- ]?(?:deficient|negative|free|less|disrupted|knock\w*)|\bB2M\b|"
    r"\bhealthy (?:volunteers?|subjects?|individuals?)\b",
    "Gene editing (TCR/B2M knockout) is what an off-the-shelf product needs, and healthy volunteers "
    "give cells: such a product's source must be stated, not inferred.",
)

IN_VIVO_SIGNAL = Pattern(
    "in_vivo_signal",
    r"\b(?:an?|the|novel) in[- ]vivo [^|.;]{0,50}(?-i:CAR)|"
    r"\b(?:lentiviral|viral|LNP|mRNA) vector (?:drug|injection)|"
    r"(?-i:CAR)[\w-]* (?:\w+ ){0,2}vector (?:drug|injection)",
    "In vivo CAR wording the IN_VIVO_CAR rules do not take ('an in vivo ... CAR-T cell therapy', a 'CAR-T "
    "lentiviral vector drug'): the CAR may be made in the patient, so no ex vivo source is inferred.",
)

#: Patterns any of which, anywhere in the record, stops every inference.
CELL_SOURCE_BLOCKS = ("allogeneic_words", "donor_signal", "gene_edited_signal", "in_vivo_signal")


@dataclass(frozen=True)
class SourceInference:
    """Infer `source` for a trial whose modalities all lie in `modalities` (and one is present),
    when the record names no block and `cue` (a Pattern name, None: no cue needed) matches."""

    name: str
    source: str
    modalities: tuple[str, ...]
    cue: str | None
    reason: str


SOURCE_INFERENCES: tuple[SourceInference, ...] = (
    SourceInference(
        "patient_cells_collected",
        "autologous",
        ("CAR-T", "TCR-T", "TIL", "CAR-M", "OTHER-CELL"),
        "patient_cells_cue",
        "The record collects or names the patient's own cells and names no donor, no allogeneic or "
        "off-the-shelf product and no gene editing.",
    ),
    SourceInference(
        "ex_vivo_car_t_or_til",
        "autologous",
        ("CAR-T", "TIL"),
        None,
        "Ex vivo CAR-T cells and TILs are made from the patient's own T cells unless the record says "
        "otherwise: allogeneic CAR-T trials call their product allogeneic, universal, off-the-shelf, "
        "donor-derived or gene-edited (the blocks), and TILs are grown from the patient's tumour. "
        "NK, CAR-NK, NKT and gamma-delta products are mostly donor-derived, so they never default.",
    ),
)

# --------------------------------------------------------------------------------------------
# Targets. A mention regex finds antigen mentions in the (masked) titles and interventions (the
# summary only when those name none); each distinct mention is then mapped to every canonical
# antigen whose pattern it contains ("CD19/22" -> CD19, CD22). Canonical names follow the
# convention documented in trialtrends.data.targets (SLAMF7, L1CAM, B7-H3, CLDN18.2, NKG2D-L).
# --------------------------------------------------------------------------------------------


def _cd(number: str) -> str:
    """A CD antigen, also inside lists ("CD19/22", "CAR-20/19") and CART19/CAR19 names.

    Digits must not continue ("CD19" not "CD190") and a trailing "t" marks a truncated
    safety-switch or tracking marker ("CD19t", "EGFRt"), not a target.
    """
    return (
        r"(?:\b|anti-?|α|[0-9])(?:CD|(?-i:CART|CAR)|CTL0)[- _.]?(?:[0-9]{1,3}\s?[/x&+]\s?(?:CD)?)*"
        + number
        + r"(?:[^0-9t]|$)"
    )


#: Words after a mention that make it context, not the product's target ("CD19-negative").
TARGET_CONTEXT_WORDS = (
    r"[- ]?(?:negative|neg\b|refractory|resistant|relapsed|relapse|loss|escape|dim|expression|"
    r"mutat\w*|mutant|abnormal\w*|aberra\w*|alteration\w*|deleti\w*|(?:monoclonal\s+)?antibod\w*|"
    r"mAbs?\b|bis?s?pecific (?:antibod\w*|T[- ]cell engagers?)|BiTEs?|engagers?|(?:/|x|×)\s?CD3\b|"
    r"inhibitors?)"
)
TARGET_CONTEXT = "(?:" + TARGET_CONTEXT_WORDS + ")?"

#: Extra mention shapes that the per-antigen patterns do not start with (antigen lists).
TARGET_MENTION_EXTRA = (
    r"(?:\banti-?)?(?:CD|(?-i:CART|CAR))[- _.]?[0-9]{1,3}(?:\s?[/x&+]\s?(?:CD)?[0-9]{1,3})+|"
    r"(?:CD[0-9]{1,3}){2,}"
)

TARGETS: tuple[tuple[str, str], ...] = (
    ("CD19", _cd("19")),
    ("CD20", _cd("20")),
    ("CD22", _cd("22")),
    ("CD7", _cd("7")),
    ("CD5", _cd("5") + r"|(?-i:CART)[- ]?5\b"),
    ("CD6", _cd("6")),
    # CD4/CD8 describe T-cell subsets ("CD4+/CD8+ T cells"); only CD4-directed products count.
    ("CD4", r"\bCD4[- ]?(?:CAR|directed|targeted|specific)\b|\banti-?CD4\b"),
    ("CD30", _cd("30")),
    ("CD33", _cd("33")),
    ("CD38", _cd("38")),
    ("CD56", _cd("56")),
    ("CD70", _cd("70")),
    ("CD79B", r"\bCD79[- ]?b\b"),
    ("CD123", _cd("123")),
    ("CD133", _cd("133")),
    ("CD138", _cd("138")),
    ("L1CAM", _cd("171") + r"|\bL1[- ]?CAM\b"),
    ("BCMA", r"\bBCMA|B[- ]cell maturation antigen|TNFRSF17"),
    ("GPRC5D", r"\bGPRC5D\b"),
    ("SLAMF7", r"\bSLAMF7\b|(?-i:\bCS1\b)|\bCD319\b"),
    ("CLL1", r"\bCLL[- ]?1\b|\bCLEC12A\b"),
    ("FLT3", r"\bFLT[- ]?3\b"),
    ("GPC3", r"\bGPC[- ]?3\b|glypican[- ]?3"),
    ("CLDN18.2", r"(?:claudin|CLDN)\s*[- ]?18[.,]?\s?2\b"),
    ("CLDN6", r"(?:claudin|CLDN)\s*[- ]?6\b"),
    ("MSLN", r"mesothelin|\bMSLN|(?-i:CART)[- ]?meso|\bmeso[- ]?(?:CAR|CIR|CART)|\bmeso\b"),
    ("HER2", r"\bHER[- ]?2(?:[^0-9t]|$)|\bERBB2\b"),
    ("GD2", r"\bGD[- ]?2\b"),
    # EGFRt is a truncated safety-switch marker, not a target; EGFRvIII is its own target.
    ("EGFR", r"\bEGFR(?:806)?(?:[^a-z0-9]|$)"),
    ("EGFRVIII", r"\bEGFR[- ]?v(?:III|3)\b"),
    ("B7-H3", r"\bB7[- ]?H3\b|\bCD276\b"),
    ("PSMA", r"\bPSMA\b"),
    ("PSCA", r"\bPSCA\b"),
    ("MUC1", r"MUC[- ]?1(?:[^0-9]|$)"),
    ("MUC16", r"\bMUC[- ]?16"),
    ("CEA", r"(?-i:\bCEA\b)|carcinoembryonic antigen"),
    ("EPCAM", r"\bEpCAM\b"),
    ("EPHA2", r"\bEphA-?2\b"),
    ("ROR1", r"\bROR[- ]?1\b"),
    ("ROR2", r"\bROR[- ]?2\b"),
    ("AXL", r"(?-i:\bAXL\b)"),
    ("ROBO1", r"\bROBO[- ]?1\b"),
    ("NKG2D-L", r"\bNKG2D\w*"),
    (
        "IL13RA2",
        r"\bIL[- ]?13\s*R\s*(?:α|a|alpha)\s*2|\bIL[- ]?13[- ]?(?:\(EQ\))?[- ]?(?:BB)?[- ]?(?:ζ|zeta\w*)",
    ),
    ("FAP", r"(?-i:\bFAP\b)|fibroblast activation protein"),
    ("MET", r"\bc-?Met\b|(?-i:\bMET\b)"),
    ("DLL3", r"\bDLL[- ]?3\b"),
    ("GUCY2C", r"\bGUCY2C\b|(?-i:\bGCC\b)"),
    ("TROP2", r"\bTROP[- ]?2\b"),
    ("CD44V6", r"\bCD44v6\b"),
    ("TRBC1", r"\bTRBC1\b|T[- ]cell receptor beta constant\s*(?:\(TRBC\))?\s*1"),
    ("LEWIS-Y", r"\bLewis[- ]?Y\b|(?-i:\bLeY\b)"),
    ("KAPPA", r"\bkappa(?:[- ]light[- ]chain)?[- ](?:CD28|CAR|directed|specific)|\bIgκ\b"),
    ("FOLR1", r"\bFOLR1\b|folate receptor(?: alpha| α)?|\bFRα\b|\bMOv-?(?:19|gamma)\b"),
    ("VEGFR2", r"\bVEGFR-?2\b"),
    ("BAFF-R", r"\bBAFF-?R\b|\bTNFRSF13C\b"),
    ("TACI", r"(?-i:\bTACI\b)"),
    ("HLA-G", r"\bHLA-G\b"),
    ("5T4", r"\b5T4\b"),
    ("GFRA4", r"\bGFR(?:α|a|alpha)[- ]?4\b"),
    ("LMP1", r"\bLMP[- ]?1\b"),
    ("LMP2", r"\bLMP[- ]?2\b"),
    ("EBNA1", r"\bEBNA[- ]?1\b"),
    ("NY-ESO-1", r"\bNY-?ESO-?1\b"),
    ("MAGE-A4", r"\bMAGE-?A4\b"),
    ("PRAME", r"\bPRAME\b"),
    ("AFP", r"(?-i:\bAFP\b)|alpha[- ]fetoprotein"),
    ("HPV-E6", r"(?:HPV[- ]?(?:16\s*)?)?\bE6\b(?:[- ]?TCR|[- ]specific)"),
    ("HPV-E7", r"(?:HPV[- ]?(?:16\s*)?)?\bE7\b(?:[- ]?TCR|[- ]specific)"),
    ("KK-LC-1", r"\bKK-?LC-?1\b"),
    ("WT1", r"\bWT-?1\b"),
    ("GP350", r"\bGP350\b"),
    ("MMP2", r"\bchlorotoxin\b"),
    ("ALK", r"(?-i:\bh?ALK\b)"),
    ("FGFR4", r"\bFGFR[- ]?4\b"),
    ("CD45", r"(?:\b|anti-?)CD[- ]?45(?:[^0-9tRr]|$)"),
    ("CD73", _cd("73")),
    ("CD83", _cd("83")),
    ("CD94", _cd("94")),
    ("CCR9", r"\bCCR9\b"),
    ("FCRH5", r"\bFcRH5\b|\bFCRL5\b"),
    ("NECTIN4", r"\bNectin-?4\b"),
    ("CA9", r"\bCAIX\b|(?-i:\bCA9\b)|carbonic anhydrase IX"),
    ("TRBC2", r"\bTRBC(?:1\s?/\s?)?2\b"),
    ("VEGFR1", r"\bVEGFR-?1\b"),
    ("NCR2L", r"\bNKp44\b"),
    # Ligand-based CARs: APRIL binds BCMA and TACI, BAFF binds BAFF-R.
    ("BCMA", r"(?-i:\bAPRIL\b)"),
    ("TACI", r"(?-i:\bAPRIL\b)"),
    ("BAFF-R", r"\bBAFF(?:[^-Rr0-9]|-[^Rr]|$)"),
    ("BCMA", r"\bBAFF(?:[^-Rr0-9]|-[^Rr]|$)"),
    ("TACI", r"\bBAFF(?:[^-Rr0-9]|-[^Rr]|$)"),
    ("TP53", r"\bTP53\b|\bp53\b"),
    ("KRAS", r"\bKRAS\b"),
    ("GP100", r"\bgp100\b"),
    # Antigens added with the 2026.12 naming convention (data/targets.py).
    ("CD10", _cd("10")),
    ("CD37", _cd("37")),
    ("CD79A", r"\bCD79[- ]?a\b"),
    ("TSLPR", r"\bTSLPR\b|\bCRLF2\b"),
    ("CSPG4", r"\bCSPG4\b|(?-i:\bNG2\b)"),
    ("LILRB4", r"\bILT[- ]?3\b|\bLILRB4\b"),
    ("CDH17", r"\bCDH17\b|cadherin[- ]?17"),
    ("GPNMB", r"\bGPNMB\b"),
    # PD-L1 is a payload ("PD-L1 armored") unless the product targets it.
    (
        "PD-L1",
        r"\bPD-?L1(?:[- ]CAR|[- ](?:targeted|targeting|specific|directed)|\s+t-haNK)|"
        r"targeting PD-?L1",
    ),
    # Products whose public records name only the product: target from the product itself.
    (
        "CD19",
        r"\b(?:tisagenlecleucel|Kymriah|tisa-cel|axicabtagene|Yescarta|axi-cel|brexucabtagene|"
        r"Tecartus|brexu-cel|lisocabtagene|Breyanzi|liso-cel|obecabtagene|Aucatzyl|obe-cel|"
        r"relmacabtagene|Carteyva|relma-cel|inaticabtagene|CNCT-?19|varnimcabtagene|KTE-?[CX]19|"
        r"JCAR01[4-7]|JWCAR029|CABA-201|KYV-?10[12]|YTB323|rapcabtagene|zamtocabtagene|"
        r"zugocabtagene|CTX11[02]|azercabtagene|azer-cel|PBCAR0191|FT819|FT596|FT522|TAK-007|"
        r"NKX019|CNTY-101|ALLO-501A?|cemacabtagene|GLPG5101|BMS-986353|CC-97540|zola-cel|"
        r"anbalcabtagene|anbal-cel|welgenaleucel|UWC19|ARI-?0001|AUTO1)\b",
    ),
    (
        "BCMA",
        r"\b(?:idecabtagene|Abecma|ide-cel|bb2121|bb21217|ciltacabtagene|Carvykti|cilta-cel|"
        r"JNJ-68284528|LCAR-B38M|equecabtagene|Fucaso|eque-cel|CT103A|zevorcabtagene|zevor-cel|"
        r"CT053|JCARH125|orvacabtagene|P-BCMA-\w+|Descartes-?(?:08|11)|KITE-585|CTX120|ALLO-715|"
        r"anitocabtagene|anito-cel|ARI0002h|PHE885|GC012F|AZD0120)\b",
    ),
    ("CD19", r"\b(?:GC012F|AZD0120|JNJ-90014496|MB-CART2019\w*|LUCAR-20S|P-CD19CD20\w*)\b"),
    ("CD20", r"\b(?:ADI-001|prulacabtagene|JNJ-90014496|MB-CART2019\w*|P-CD19CD20\w*)\b"),
    ("GPRC5D", r"\b(?:arlocabtagene|arlo-cel|BMS-986393|MCARH109)\b"),
    ("NKG2D-L", r"\b(?:NKR-2|CYAD-(?:0[12]|101)|NKX101|KD-025)\b"),
    ("CLDN18.2", r"\b(?:satricabtagene|satri-cel|CT041)\b"),
    ("CD7", r"\b(?:WU-CART-007|RD13-0[12])\b"),
)
