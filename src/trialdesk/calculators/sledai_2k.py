"""SLEDAI-2K: SLE disease activity index 2000.

    total = sum of the weights of the descriptors present (0-105)

A descriptor counts if present at the visit or in the preceding 10 days; each
counts once. Codes are those of data.md (``urn:trialdesk:sledai-2k``).

Source: Gladman DD, Ibanez D, Urowitz MB. Systemic lupus erythematosus disease
activity index 2000. J Rheumatol 2002;29:288-291 (definitions: clinical.md 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trialdesk.calculators.base import CalcResult
from trialdesk.errors import CalculatorError

NAME = "sledai-2k"
UNIT = "{score}"
SOURCE = (
    "Gladman DD, Ibanez D, Urowitz MB. Systemic lupus erythematosus disease activity "
    "index 2000. J Rheumatol 2002;29:288-291"
)
WINDOW = "present at the visit or in the preceding 10 days"


@dataclass(frozen=True)
class Descriptor:
    """One SLEDAI-2K descriptor: data.md code, Gladman 2002 weight and definition."""

    code: str
    weight: int
    definition: str
    neurological: bool = False
    window: str = WINDOW


_D = Descriptor
DESCRIPTORS: tuple[Descriptor, ...] = (
    _D("seizure", 8, "Recent onset; exclude metabolic, infectious or drug causes",
       neurological=True),
    _D("psychosis", 8, "Severe disturbance in perception of reality impairing normal "
       "function; exclude uremia and drugs", neurological=True),
    _D("organic-brain-syndrome", 8, "Altered mental function, rapid onset and fluctuating, "
       "with clouding of consciousness plus >= 2 features; exclude metabolic, infectious, "
       "drug causes", neurological=True),
    _D("visual-disturbance", 8, "Retinal changes of SLE or optic neuritis; exclude "
       "hypertension, infection, drugs", neurological=True),
    _D("cranial-nerve-disorder", 8, "New sensory or motor neuropathy of cranial nerves",
       neurological=True),
    _D("lupus-headache", 8, "Severe persistent headache, non-responsive to narcotic "
       "analgesia", neurological=True),
    _D("cva", 8, "New cerebrovascular accident(s); exclude arteriosclerosis", neurological=True),
    _D("vasculitis", 8, "Ulceration, gangrene, tender finger nodules, periungual infarction, "
       "splinter haemorrhages, or biopsy/angiogram proof"),
    _D("arthritis", 4, ">= 2 joints with pain and signs of inflammation"),
    _D("myositis", 4, "Proximal muscle aching/weakness with raised CPK/aldolase, EMG "
       "changes or biopsy"),
    _D("urinary-casts", 4, "Heme-granular or red blood cell casts"),
    _D("hematuria", 4, "> 5 RBC/high-power field; exclude stone, infection, other cause"),
    _D("proteinuria", 4, "> 0.5 g/24 h"),
    _D("pyuria", 4, "> 5 WBC/high-power field; exclude infection"),
    _D("rash", 2, "Inflammatory-type rash"),
    _D("alopecia", 2, "Abnormal, patchy or diffuse loss of hair"),
    _D("mucosal-ulcers", 2, "Oral or nasal ulcerations"),
    _D("pleurisy", 2, "Pleuritic chest pain with rub or effusion, or pleural thickening"),
    _D("pericarditis", 2, "Pericardial pain with rub, effusion, or ECG/echo confirmation"),
    _D("low-complement", 2, "CH50, C3 or C4 below the laboratory's lower limit"),
    _D("increased-dna-binding", 2, "DNA binding above the laboratory's normal range"),
    _D("fever", 1, "> 38 C; exclude infectious cause"),
    _D("thrombocytopenia", 1, "< 100 x 10^9/L; exclude drug causes"),
    _D("leukopenia", 1, "< 3 x 10^9/L; exclude drug causes"),
)
BY_CODE: dict[str, Descriptor] = {d.code: d for d in DESCRIPTORS}
NEUROLOGICAL: frozenset[str] = frozenset(d.code for d in DESCRIPTORS if d.neurological)


def score(descriptors: Iterable[str]) -> CalcResult:
    """The SLEDAI-2K total of the descriptor codes present (duplicates count once).

    Raises CalculatorError naming any unknown code.
    """
    given = {str(code).strip().lower() for code in descriptors} - {""}
    unknown = sorted(given - BY_CODE.keys())
    if unknown:
        raise CalculatorError(
            f"unknown SLEDAI-2K descriptor(s) {unknown}; known: {', '.join(BY_CODE)}",
            "descriptors",
        )
    counted = [d for d in DESCRIPTORS if d.code in given]
    total = sum(d.weight for d in counted)
    terms = " + ".join(f"{d.code} {d.weight}" for d in counted) or "no descriptor present"
    return CalcResult(
        name=NAME,
        value=total,
        unit=UNIT,
        inputs={"descriptors": [d.code for d in counted]},
        equation=f"{terms} = {total}",
        source=SOURCE,
        extra={"descriptors": [d.code for d in counted]},
    )
