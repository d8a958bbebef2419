"""Reviewed antigen naming convention for `trial_flags.targets` and `products.targets`.

Convention (one spelling per antigen, upper case):
- HGNC-like gene symbols where they are in common use (SLAMF7 not CS1, L1CAM not CD171, MSLN,
  CLDN18.2, GUCY2C, EPCAM, FOLR1, CA9, CLL1, NECTIN4), but the clinical short forms where the
  field writes them (B7-H3, HER2, BCMA, GD2, BAFF-R, NY-ESO-1, KK-LC-1, FCRH5).
- Ligand-based receptors are recorded as the molecule they bind on the tumour cell:
  APRIL -> BCMA + TACI, BAFF -> BAFF-R + BCMA + TACI, IL-13 zetakine -> IL13RA2,
  NKG2D -> NKG2D-L (its ligands MICA/MICB/ULBPs), NKp44 -> NCR2L, chlorotoxin -> MMP2,
  folate (FITC adapter, MOv-gamma) -> FOLR1.
- Every antigen of a dual, tandem, bicistronic or sequential design is listed (CD19 and CD22 for
  "CD19/22 CAR-T"; CD19 and CD22 for a CD22 CAR-T given after tisagenlecleucel in one protocol).
- Armouring payloads (PD-1 scFv, IL-15, TGF-beta DNR), safety switches and tracking markers
  (EGFRt, CD19t, CD34t, iCasp9) and T-cell subset markers (CD4+/CD8+) are not targets.

`SYNONYMS` maps every other spelling a rule, the product dictionary or a label may produce to the
canonical name, each with the reason. The classifier emits canonical names directly; the mapping
is applied to product-dictionary targets and in the benchmark.
"""

from __future__ import annotations

#: synonym -> (canonical, reason)
SYNONYMS: dict[str, tuple[str, str]] = {
    "CS1": ("SLAMF7", "CS1 is the old name of SLAMF7 (CD319)."),
    "CD319": ("SLAMF7", "CD319 = SLAMF7."),
    "CD171": ("L1CAM", "CD171 = L1CAM; the gene symbol is used."),
    "CD276": ("B7-H3", "CD276 = B7-H3, which the field writes B7-H3."),
    "B7H3": ("B7-H3", "Spelling without the hyphen."),
    "NKG2D": ("NKG2D-L", "NKG2D-based CARs bind the NKG2D ligands on the tumour cell."),
    "NKG2DL": ("NKG2D-L", "Spelling of the NKG2D ligands without the hyphen."),
    "NKG2D LIGANDS": ("NKG2D-L", "NKG2D ligands."),
    "NKP44": ("NCR2L", "NKp44-based CARs bind NKp44 ligands."),
    "CLAUDIN18.2": ("CLDN18.2", "Claudin 18.2 = CLDN18.2."),
    "CLDN18": ("CLDN18.2", "CLDN18 CAR products target the 18.2 isoform."),
    "CLAUDIN6": ("CLDN6", "Claudin 6 = CLDN6."),
    "MESOTHELIN": ("MSLN", "Mesothelin = MSLN."),
    "GCC": ("GUCY2C", "Guanylyl cyclase C = GUCY2C."),
    "CLEC12A": ("CLL1", "CLEC12A = CLL-1."),
    "CLL-1": ("CLL1", "Spelling with a hyphen."),
    "NECTIN-4": ("NECTIN4", "Gene symbol NECTIN4."),
    "FCRL5": ("FCRH5", "FcRL5 = FcRH5; the dictionary writes FCRH5."),
    "CAIX": ("CA9", "Carbonic anhydrase IX = CA9."),
    "C-MET": ("MET", "c-MET = MET."),
    "CMET": ("MET", "c-MET = MET."),
    "EGFR VIII": ("EGFRVIII", "EGFR variant III."),
    "EGFRV3": ("EGFRVIII", "EGFR variant III."),
    "TNMUC1": ("MUC1", "Tn-glycoform of MUC1."),
    "ERBB2": ("HER2", "ERBB2 = HER2."),
    "GPC-3": ("GPC3", "Spelling with a hyphen."),
    "NG2": ("CSPG4", "NG2 = CSPG4."),
    "CRLF2": ("TSLPR", "TSLPR is encoded by CRLF2; the field writes TSLPR."),
    "ILT3": ("LILRB4", "ILT3 = LILRB4."),
    "APRIL": ("BCMA", "APRIL-ligand CARs bind BCMA and TACI (TACI is added by the ligand rule)."),
    "IL13": ("IL13RA2", "IL-13 zetakine CARs bind IL13RA2."),
    "IL13RALPHA2": ("IL13RA2", "Spelling."),
    "FRALPHA": ("FOLR1", "Folate receptor alpha = FOLR1."),
    "FOLATE RECEPTOR": ("FOLR1", "Folate receptor alpha = FOLR1."),
    "CD269": ("BCMA", "CD269 = BCMA."),
    "TNFRSF17": ("BCMA", "TNFRSF17 = BCMA."),
    "CD79B": ("CD79B", "Canonical."),
    "BAFFR": ("BAFF-R", "Spelling without the hyphen."),
    "LEY": ("LEWIS-Y", "Lewis Y antigen."),
}

#: Ligands whose CAR binds more than one receptor: every receptor is a target.
LIGAND_TARGETS: dict[str, tuple[str, ...]] = {
    "APRIL": ("BCMA", "TACI"),
    "BAFF": ("BAFF-R", "BCMA", "TACI"),
}


def canonical_target(name: str) -> str:
    """The canonical spelling of one antigen name (upper case)."""
    key = name.strip().upper()
    return SYNONYMS.get(key, (key, ""))[0]


def canonical_targets(names: list[str] | tuple[str, ...]) -> list[str]:
    """Canonical, unique, sorted antigen names (ligands expanded to their receptors)."""
    out: set[str] = set()
    for name in names:
        key = name.strip().upper()
        if not key:
            continue
        out.update(LIGAND_TARGETS.get(key, (canonical_target(key),)))
    return sorted(out)
