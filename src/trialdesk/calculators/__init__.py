"""Clinical calculators: one equation per module, each returning a CalcResult.

Every module's docstring gives the formula and its citation; coefficients sit
in one table that drives both the arithmetic and the equation text. Units are
handled only in ``units``; ``registry`` runs calculators from CLI strings.
"""

from trialdesk.calculators.base import CalcResult
from trialdesk.calculators.crs_astct import crs_astct
from trialdesk.calculators.ctcae_v5 import ctcae_v5
from trialdesk.calculators.egfr_bedside_schwartz import egfr_bedside_schwartz
from trialdesk.calculators.egfr_ckd_epi_2021 import egfr_ckd_epi_2021
from trialdesk.calculators.egfr_ckid_u25 import egfr_ckid_u25
from trialdesk.calculators.icans_astct import icans_astct
from trialdesk.calculators.ipna_response import ipna_response
from trialdesk.calculators.registry import CALCULATORS, run
from trialdesk.calculators.steroids import prednisone_equivalent
from trialdesk.calculators.uln import uln_ratio

__all__ = [
    "CALCULATORS",
    "CalcResult",
    "crs_astct",
    "ctcae_v5",
    "egfr_bedside_schwartz",
    "egfr_ckd_epi_2021",
    "egfr_ckid_u25",
    "icans_astct",
    "ipna_response",
    "prednisone_equivalent",
    "run",
    "uln_ratio",
]
