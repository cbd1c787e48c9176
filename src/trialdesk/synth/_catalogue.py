"""Every code the generator writes, with its FHIR system, OMOP vocabulary and concept id.

One row per concept. The generator refers to concepts by a short ``key`` and stores
the concept's index (:data:`INDEX`) in its event tables, so the FHIR and OMOP writers
render the same concept from the same row. Codes come from the protocol's value sets
(``protocols/carnk-aid/valuesets``) or, for ordinary conditions, labs, drugs and
vaccines that no criterion uses, from the shared Synthea/Eunomia test data.

Concept ids are stable: a hash of ``vocabulary|code`` in [1e6, 1e9) for standard
vocabularies, and 2,000,000,000 + a hash for the custom ``trialdesk`` concepts
(``concept_code`` '<system>#<code>', as docs/omop-mapping.md says). Import fails if
two concepts ever hash to the same id.

ICD-10 conditions may name a SNOMED concept (``maps_to``): FHIR then carries both
codings and OMOP writes the SNOMED concept as the standard concept and the ICD-10
concept as the source concept, so both formats match the same value sets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
TD = "urn:trialdesk:"

VOCABULARY = {LOINC: "LOINC", SNOMED: "SNOMED", ICD10: "ICD10", ICD10CM: "ICD10CM", RXNORM: "RxNorm", CVX: "CVX"}
DOMAIN = {"meas": "Measurement", "cond": "Condition", "proc": "Procedure", "drug": "Drug", "obs": "Observation",
          "value": "Meas Value"}


@dataclass(frozen=True, slots=True)
class Concept:
    key: str
    system: str
    code: str
    display: str
    domain: str  # Measurement, Condition, Procedure, Drug, Observation, Meas Value
    measure: str | None = None  # measurements: the measure (two results of one measure never share a date)
    unit: str | None = None  # measurements: the UCUM unit the code is reported in
    maps_to: str | None = None  # ICD-10 conditions: key of the SNOMED standard concept
    cn: str | None = None  # drugs: the Chinese name (data.md) used as the drug's text for some rows

    @property
    def vocabulary(self) -> str:
        return "trialdesk" if self.system.startswith(TD) else VOCABULARY[self.system]

    @property
    def concept_code(self) -> str:
        return f"{self.system[len(TD):]}#{self.code}" if self.system.startswith(TD) else self.code

    @property
    def concept_id(self) -> int:
        return _concept_id(self.vocabulary, self.concept_code)


def _concept_id(vocabulary: str, code: str) -> int:
    h = int.from_bytes(hashlib.blake2b(f"{vocabulary}|{code}".encode(), digest_size=8).digest(), "big")
    if vocabulary == "trialdesk":
        return 2_000_000_000 + h % 100_000_000
    return 1_000_000 + h % 999_000_000


def _m(key, code, display, measure, unit=None):
    return Concept(key, LOINC, code, display, "Measurement", measure=measure, unit=unit)


def _c(key, system, code, display, maps_to=None, domain="Condition"):
    return Concept(key, system, code, display, domain, maps_to=maps_to)


def _d(key, code, display, cn=None, system=RXNORM):
    return Concept(key, system, code, display, "Drug", cn=cn)


_CONCEPTS: list[Concept] = [
    # ---- screening measurements (protocol measures.yaml) -------------------------------------
    _m("creat_mg", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "creatinine", "mg/dL"),
    _m("creat_umol", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "creatinine", "umol/L"),
    _m("creat_blood", "38483-4", "Creatinine [Mass/volume] in Blood", "creatinine", "mg/dL"),
    _m("egfr_2021", "98979-8", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
       "Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)", "egfr", "mL/min/{1.73_m2}"),
    _m("egfr", "33914-3", "Glomerular filtration rate/1.73 sq M.predicted", "egfr", "mL/min/{1.73_m2}"),
    _m("height", "8302-2", "Body height", "height", "cm"),
    _m("weight", "29463-7", "Body weight", "weight", "kg"),
    _m("ast", "1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "ast", "U/L"),
    _m("alt", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "alt", "U/L"),
    _m("tbil_mg", "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "bilirubin", "mg/dL"),
    _m("tbil_umol", "14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma", "bilirubin", "umol/L"),
    _m("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "spo2", "%"),
    _m("spo2_art", "2708-6", "Oxygen saturation in Arterial blood", "spo2", "%"),
    _m("lvef", "10230-1", "Left ventricular Ejection fraction", "lvef", "%"),
    _m("lvef_us", "18043-0", "Left ventricular Ejection fraction by US", "lvef", "%"),
    _m("lvef_2d", "8806-2", "Left ventricular Ejection fraction by 2D echo", "lvef", "%"),
    _m("ecg", "8601-7", "EKG impression", "ecg"),
    _m("ecog", "89247-1", "ECOG Performance Status score", "ecog"),
    _m("karnofsky", "89243-0", "Karnofsky Performance Status score", "performance"),
    _m("nyha", "88020-3", "Functional capacity NYHA", "nyha"),
    _m("hcg_serum", "2118-8", "Choriogonadotropin (pregnancy test) [Presence] in Serum or Plasma", "hcg"),
    _m("hcg_urine", "2106-3", "Choriogonadotropin (pregnancy test) [Presence] in Urine", "hcg"),
    _m("hbsag", "5196-1", "Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay", "hbsag"),
    _m("anti_hbc", "16933-4", "Hepatitis B virus core Ab [Presence] in Serum", "anti-hbc"),
    _m("hbv_dna", "42595-9", "Hepatitis B virus DNA [Units/volume] (viral load) in Serum or Plasma by NAA with "
       "probe detection", "hbv-dna", "[IU]/mL"),
    _m("anti_hcv", "16128-1", "Hepatitis C virus Ab [Presence] in Serum", "anti-hcv"),
    _m("hcv_rna", "11011-4", "Hepatitis C virus RNA [Units/volume] (viral load) in Serum or Plasma by NAA with "
       "probe detection", "hcv-rna", "[IU]/mL"),
    _m("hiv", "7918-6", "HIV 1+2 Ab [Presence] in Serum", "hiv-ab"),
    _m("hiv_combo", "56888-1", "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay", "hiv-ab"),
    _m("treponemal", "47236-5", "Treponema pallidum IgG+IgM Ab [Presence] in Serum by Immunoassay", "syphilis"),
    _m("rpr", "20507-0", "Reagin Ab [Presence] in Serum by RPR", "syphilis"),
    _m("cmv", "72493-0", "Cytomegalovirus DNA [Units/volume] (viral load) in Serum or Plasma by NAA with probe "
       "detection", "cmv-dna"),
    _m("ana", "5048-4", "Nuclear Ab [Titer] in Serum by Immunofluorescence", "ana", "{titer}"),
    _m("ana_hep2", "33253-6", "Nuclear Ab [Titer] in Serum by Hep2 substrate", "ana", "{titer}"),
    _m("upcr_mass", "2890-2", "Protein/Creatinine [Mass Ratio] in Urine", "upcr"),
    _m("upcr_si", "34366-5", "Protein/Creatinine [Ratio] in Urine", "upcr", "mg/mmol"),
    # ---- ordinary measurements (Eunomia) ---------------------------------------------------------
    _m("sbp", "8480-6", "Systolic blood pressure", "sbp", "mm[Hg]"),
    _m("dbp", "8462-4", "Diastolic blood pressure", "dbp", "mm[Hg]"),
    _m("hr", "8867-4", "Heart rate", "hr", "/min"),
    _m("bmi", "39156-5", "Body mass index (BMI) [Ratio]", "bmi", "kg/m2"),
    _m("glucose", "2339-0", "Glucose [Mass/volume] in Blood", "glucose", "mg/dL"),
    _m("sodium", "2947-0", "Sodium [Moles/volume] in Blood", "sodium", "mmol/L"),
    _m("potassium", "6298-4", "Potassium [Moles/volume] in Blood", "potassium", "mmol/L"),
    _m("hgb", "718-7", "Hemoglobin [Mass/volume] in Blood", "hgb", "g/dL"),
    _m("hba1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "hba1c", "%"),
    _m("chol", "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "chol", "mg/dL"),
    _m("albumin", "1751-7", "Albumin [Mass/volume] in Serum or Plasma", "albumin", "g/dL"),
    _m("uacr", "14959-1", "Microalbumin/Creatinine [Mass Ratio] in Urine", "uacr", "mg/g"),
    # ---- qualitative result values (SNOMED) and ECG impressions (local) --------------------------
    Concept("positive", SNOMED, "10828004", "Positive", "Meas Value"),
    Concept("negative", SNOMED, "260385009", "Negative", "Meas Value"),
    Concept("detected", SNOMED, "260373001", "Detected", "Meas Value"),
    Concept("not_detected", SNOMED, "260415000", "Not detected", "Meas Value"),
    Concept("ecg_normal", f"{TD}ecg", "normal", "ECG normal", "Meas Value"),
    Concept("ecg_ans", f"{TD}ecg", "abnormal-not-significant", "ECG abnormal, not clinically significant",
            "Meas Value"),
    Concept("ecg_as", f"{TD}ecg", "abnormal-significant", "ECG abnormal, clinically significant", "Meas Value"),
    # ---- cohort conditions ----------------------------------------------------------------------
    _c("sle", SNOMED, "55464009", "Systemic lupus erythematosus"),
    _c("le", SNOMED, "200936003", "Lupus erythematosus"),
    _c("sle_icd", ICD10, "M32.9", "Systemic lupus erythematosus, unspecified", maps_to="sle"),
    _c("ln", SNOMED, "68815009", "SLE glomerulonephritis syndrome"),
    _c("ln4", SNOMED, "36402006", "SLE glomerulonephritis syndrome, WHO class IV"),
    _c("ns", SNOMED, "52254009", "Nephrotic syndrome"),
    _c("ns_icd", ICD10, "N04.9", "Nephrotic syndrome: unspecified", maps_to="ns"),
    _c("ssns", SNOMED, "236380004", "Steroid-sensitive nephrotic syndrome"),
    _c("sdns", SNOMED, "236382007", "Steroid-dependent nephrotic syndrome"),
    _c("srns", SNOMED, "236381000", "Steroid-resistant nephrotic syndrome"),
    _c("srns_child", SNOMED, "449820008", "Steroid resistant nephrotic syndrome of childhood"),
    _c("mdrns", SNOMED, "717760006", "Multi-drug resistant nephrotic syndrome"),
    _c("mcd", SNOMED, "44785005", "Minimal change disease"),
    _c("ns_mcd", SNOMED, "197593004", "Nephrotic syndrome, minor glomerular abnormality"),
    _c("mcd_icd", ICD10, "N04.0", "Nephrotic syndrome: minor glomerular abnormality", maps_to="ns_mcd"),
    _c("fsgs", SNOMED, "236403004", "Focal segmental glomerulosclerosis"),
    _c("ns_fsgs", SNOMED, "197594005", "Nephrotic syndrome, focal and segmental glomerular lesions"),
    _c("fsgs_icd", ICD10, "N04.1", "Nephrotic syndrome: focal and segmental glomerular lesions", maps_to="ns_fsgs"),
    _c("membranous", SNOMED, "77182004", "Membranous glomerulonephritis"),
    _c("ns_membranous", SNOMED, "197595006", "Nephrotic syndrome, diffuse membranous glomerulonephritis"),
    _c("membranous_icd", ICD10, "N04.2", "Nephrotic syndrome: diffuse membranous glomerulonephritis",
       maps_to="ns_membranous"),
    _c("iga", SNOMED, "236407003", "IgA nephropathy"),
    # ---- conditions of the exclusions -------------------------------------------------------------
    _c("seizure", SNOMED, "91175000", "Seizure"),
    _c("epilepsy", SNOMED, "84757009", "Epilepsy"),
    _c("seizure_history", SNOMED, "703151001", "History of single seizure"),
    _c("cva", SNOMED, "230690007", "Cerebrovascular accident"),
    _c("hlh", SNOMED, "234437005", "Hemophagocytic lymphohistiocytosis"),
    _c("ild", SNOMED, "233703007", "Interstitial lung disease"),
    _c("pe", SNOMED, "706870000", "Acute pulmonary embolism"),
    _c("zoster", SNOMED, "4740000", "Herpes zoster"),
    _c("hsv", SNOMED, "88594005", "Herpes simplex"),
    _c("pneumonia", SNOMED, "233604007", "Pneumonia"),
    _c("uti", SNOMED, "301011002", "Escherichia coli urinary tract infection"),
    _c("sepsis", SNOMED, "91302008", "Sepsis"),
    _c("chd", SNOMED, "13213009", "Congenital heart disease"),
    _c("ami", SNOMED, "22298006", "Myocardial infarction"),
    _c("ami_icd", ICD10, "I21.9", "Acute myocardial infarction, unspecified"),
    _c("vt", SNOMED, "25569003", "Ventricular tachycardia"),
    _c("pericardial", SNOMED, "373945007", "Pericardial effusion"),
    _c("myocarditis", SNOMED, "50920009", "Myocarditis"),
    _c("hf", SNOMED, "84114007", "Heart failure"),
    _c("chf", SNOMED, "88805009", "Chronic congestive heart failure"),
    _c("breast_ca", SNOMED, "254837009", "Malignant neoplasm of breast"),
    _c("colon_ca", SNOMED, "93761005", "Primary malignant neoplasm of colon"),
    _c("pid", SNOMED, "58606001", "Primary immune deficiency disorder"),
    _c("hiv_disease", SNOMED, "86406008", "Human immunodeficiency virus infection"),
    _c("renal_tx_history", SNOMED, "161665007", "History of renal transplant"),
    _c("agvhd", SNOMED, "402355000", "Acute graft-versus-host disease"),
    _c("dialysis_dep", SNOMED, "105502003", "Dependence on renal dialysis"),
    _c("anaphylaxis", SNOMED, "39579001", "Anaphylaxis"),
    _c("allergic_reaction", SNOMED, "241929008", "Acute allergic reaction"),
    _c("postmenopausal", SNOMED, "76498008", "Postmenopausal state"),
    # ---- ordinary conditions (Synthea, Eunomia) ---------------------------------------------------
    _c("htn", SNOMED, "59621000", "Essential hypertension"),
    _c("t2dm", SNOMED, "44054006", "Type 2 diabetes mellitus"),
    _c("prediabetes", SNOMED, "15777000", "Prediabetes"),
    _c("obesity", SNOMED, "162864005", "Body mass index 30+ - obesity"),
    _c("hyperlipidemia", SNOMED, "55822004", "Hyperlipidemia"),
    _c("anemia", SNOMED, "271737000", "Anemia"),
    _c("asthma_child", SNOMED, "233678006", "Childhood asthma"),
    _c("rhinitis", SNOMED, "367498001", "Seasonal allergic rhinitis"),
    _c("back_pain", SNOMED, "278860009", "Chronic low back pain"),
    _c("oa_knee", SNOMED, "239873007", "Osteoarthritis of knee"),
    _c("dermatitis", SNOMED, "24079001", "Atopic dermatitis"),
    _c("stress", SNOMED, "73595000", "Stress"),
    _c("ankle_fracture", SNOMED, "16114001", "Fracture of ankle"),
    _c("ankle_sprain", SNOMED, "44465007", "Sprain of ankle"),
    _c("pregnancy", SNOMED, "72892002", "Normal pregnancy"),
    _c("chronic_sinusitis", SNOMED, "40055000", "Chronic sinusitis"),
    _c("fatigue", SNOMED, "84229001", "Fatigue"),
    _c("joint_pain", SNOMED, "57676002", "Joint pain"),
    _c("fever", SNOMED, "386661006", "Fever"),
    _c("ra", SNOMED, "69896004", "Rheumatoid arthritis"),
    _c("viral_sinusitis", SNOMED, "444814009", "Viral sinusitis"),
    _c("pharyngitis", SNOMED, "195662009", "Acute viral pharyngitis"),
    _c("bronchitis", SNOMED, "10509002", "Acute bronchitis"),
    _c("otitis", SNOMED, "65363002", "Otitis media"),
    _c("ckd1", SNOMED, "431855005", "Chronic kidney disease stage 1"),
    _c("ckd2", SNOMED, "431856006", "Chronic kidney disease stage 2"),
    _c("ckd3", SNOMED, "433144002", "Chronic kidney disease stage 3"),
    _c("ckd4", SNOMED, "431857002", "Chronic kidney disease stage 4"),
    _c("diabetic_kidney", SNOMED, "127013003", "Disorder of kidney due to diabetes mellitus"),
    # ---- procedures -----------------------------------------------------------------------------------
    _c("hemodialysis", SNOMED, "302497006", "Hemodialysis", domain="Procedure"),
    _c("peritoneal_dialysis", SNOMED, "71192002", "Peritoneal dialysis", domain="Procedure"),
    _c("kidney_tx", SNOMED, "70536003", "Transplant of kidney", domain="Procedure"),
    _c("hsct", SNOMED, "234336002", "Hemopoietic stem cell transplant", domain="Procedure"),
    _c("hysterectomy", SNOMED, "116140006", "Total hysterectomy", domain="Procedure"),
    _c("colonoscopy", SNOMED, "73761001", "Colonoscopy", domain="Procedure"),
    _c("spirometry", SNOMED, "127783003", "Spirometry", domain="Procedure"),
    _c("echo", SNOMED, "40701008", "Echocardiography", domain="Procedure"),
    _c("ecg_proc", SNOMED, "29303009", "Electrocardiographic procedure", domain="Procedure"),
    # ---- drugs: RxNorm ingredients (drugs.yaml), telitacicept local ------------------------------------
    _d("prednisone", "8640", "prednisone", "泼尼松"),
    _d("prednisolone", "8638", "prednisolone", "泼尼松龙"),
    _d("methylprednisolone", "6902", "methylprednisolone", "甲泼尼龙"),
    _d("hydroxychloroquine", "5521", "hydroxychloroquine", "羟氯喹"),
    _d("cyclophosphamide", "3002", "cyclophosphamide", "环磷酰胺"),
    _d("mycophenolate", "68149", "mycophenolate mofetil", "吗替麦考酚酯"),
    _d("azathioprine", "1256", "azathioprine"),
    _d("methotrexate", "6851", "methotrexate"),
    _d("ciclosporin", "3008", "cyclosporine", "环孢素"),
    _d("tacrolimus", "42316", "tacrolimus", "他克莫司"),
    _d("belimumab", "1092437", "belimumab", "贝利尤单抗"),
    _d("rituximab", "121191", "rituximab", "利妥昔单抗"),
    _d("telitacicept", "telitacicept", "telitacicept", "泰它西普", system=f"{TD}drug"),
    _d("fludarabine", "24698", "fludarabine"),
    _d("obinutuzumab", "974779", "obinutuzumab"),
    _d("penicillin_v", "7984", "penicillin V"),
    _d("cephalexin", "2231", "cephalexin"),
    _d("cefuroxime", "2194", "cefuroxime"),
    _d("aspirin", "1191", "aspirin"),
    _d("ibuprofen", "5640", "ibuprofen"),
    _d("lisinopril", "29046", "lisinopril"),
    _d("enalapril", "3827", "enalapril"),
    _d("ramipril", "35296", "ramipril"),
    # ---- vaccines (CVX; vaccines.yaml for the live ones) ---------------------------------------------
    Concept("flu", CVX, "140", "Influenza, seasonal, injectable, preservative free", "Drug"),
    Concept("td", CVX, "113", "Td (adult) preservative free", "Drug"),
    Concept("tdap", CVX, "115", "Tdap", "Drug"),
    Concept("pcv13", CVX, "133", "Pneumococcal conjugate PCV 13", "Drug"),
    Concept("dtap", CVX, "20", "DTaP", "Drug"),
    Concept("ipv", CVX, "10", "IPV", "Drug"),
    Concept("hib", CVX, "49", "Hib (PRP-OMP)", "Drug"),
    Concept("hepb_ped", CVX, "08", "Hep B, adolescent or pediatric", "Drug"),
    Concept("hpv", CVX, "62", "HPV, quadrivalent", "Drug"),
    Concept("mcv4", CVX, "114", "meningococcal MCV4P", "Drug"),
    Concept("mmr", CVX, "03", "measles, mumps and rubella virus vaccine", "Drug"),
    Concept("varicella", CVX, "21", "varicella virus vaccine", "Drug"),
    Concept("zoster_live", CVX, "121", "zoster vaccine, live", "Drug"),
    Concept("rotavirus", CVX, "119", "rotavirus, live, monovalent vaccine", "Drug"),
    Concept("laiv", CVX, "149", "Influenza, live, quadrivalent, intranasal", "Drug"),
    # ---- allergy substances (Synthea SNOMED allergy codes; RxNorm drugs above) ---------------------------
    Concept("dander", SNOMED, "232347008", "Allergy to animal dander", "Observation"),
    Concept("shellfish", SNOMED, "300913006", "Shellfish allergy", "Observation"),
    Concept("dust_mite", SNOMED, "232350006", "Allergy to dust mite protein", "Observation"),
    Concept("grass", SNOMED, "418689008", "Allergy to grass pollen", "Observation"),
    Concept("latex", SNOMED, "300916003", "Allergy to latex", "Observation"),
    Concept("nut", SNOMED, "91934008", "Allergy to nut", "Observation"),
    Concept("bee", SNOMED, "424213003", "Allergy to bee venom", "Observation"),
    # ---- local concepts (docs/omop-mapping.md) --------------------------------------------------------
    *[Concept(f"att_{c}", f"{TD}attestation", c, f"Attestation: {c}", "Observation") for c in (
        "consent-signed", "predicted-survival-12w", "contraception-agreed", "childbearing-potential",
        "intolerant-standard-therapy", "other-trial-3m", "no-major-condition", "labs-not-significant",
        "investigator-no-concern")],
    Concept("sledai", f"{TD}assessment", "sledai-2k", "SLEDAI-2K assessment", "Observation"),
    Concept("eular", f"{TD}assessment", "eular-acr-2019", "2019 EULAR/ACR classification criteria for SLE",
            "Observation"),
    Concept("survival", f"{TD}assessment", "predicted-survival-weeks", "Predicted survival (weeks)", "Observation"),
    Concept("lansky", f"{TD}assessment", "lansky", "Lansky play-performance status", "Observation"),
    *[Concept(f"sledai_{c}", f"{TD}sledai-2k", c, f"SLEDAI-2K descriptor: {c}", "Observation") for c in (
        "seizure", "psychosis", "organic-brain-syndrome", "visual-disturbance", "cranial-nerve-disorder",
        "lupus-headache", "cva", "vasculitis", "arthritis", "myositis", "urinary-casts", "hematuria",
        "proteinuria", "pyuria", "rash", "alopecia", "mucosal-ulcers", "pleurisy", "pericarditis",
        "low-complement", "increased-dna-binding", "fever", "thrombocytopenia", "leukopenia")],
    *[Concept(f"eular_{c}", f"{TD}eular-acr-2019", c, f"2019 EULAR/ACR item: {c}", "Observation") for c in (
        "fever", "leukopenia", "thrombocytopenia", "autoimmune-hemolysis", "delirium", "psychosis", "seizure",
        "alopecia", "oral-ulcers", "subacute-cutaneous-or-discoid-lupus", "acute-cutaneous-lupus",
        "pleural-or-pericardial-effusion", "acute-pericarditis", "joint-involvement", "proteinuria",
        "lupus-nephritis-class-2-or-5", "lupus-nephritis-class-3-or-4", "antiphospholipid-antibodies",
        "low-c3-or-c4", "low-c3-and-c4", "anti-dsdna-or-anti-smith")],
    Concept("allergy", f"{TD}allergy", "allergy", "Allergy", "Observation"),
    Concept("intolerance", f"{TD}allergy", "intolerance", "Intolerance", "Observation"),
    Concept("consent", f"{TD}consent", "research", "Research consent (active)", "Observation"),
    Concept("study", f"{TD}study", "participation", "Participation in a clinical study", "Observation"),
]

CONCEPTS: tuple[Concept, ...] = tuple(_CONCEPTS)
INDEX: dict[str, int] = {c.key: k for k, c in enumerate(CONCEPTS)}
if len(INDEX) != len(CONCEPTS):
    raise RuntimeError("duplicate concept key in the synth catalogue")
CONCEPT_IDS: tuple[int, ...] = tuple(c.concept_id for c in CONCEPTS)
if len(set(CONCEPT_IDS)) != len(CONCEPT_IDS):
    raise RuntimeError("two synth concepts hash to the same concept_id: change the hash salt")

#: Measures, numbered: two results of one measure never share a date for one person.
MEASURES: tuple[str, ...] = tuple(dict.fromkeys(c.measure for c in CONCEPTS if c.measure))
MEASURE_OF: tuple[int, ...] = tuple(MEASURES.index(c.measure) if c.measure else -1 for c in CONCEPTS)

#: UCUM units the generator writes (index -1 = no unit).
UNITS: tuple[str, ...] = ("mg/dL", "umol/L", "mL/min/{1.73_m2}", "cm", "kg", "U/L", "%", "[IU]/mL", "{titer}",
                          "g/g", "mg/g", "mg/mmol", "mm[Hg]", "/min", "kg/m2", "mmol/L", "g/dL", "wk")
UNIT: dict[str, int] = {u: k for k, u in enumerate(UNITS)}

#: Fixed OMOP concepts the tables use besides the catalogue.
MALE, FEMALE, EHR = 8507, 8532, 32817
FIXED_CONCEPTS = (
    (MALE, "MALE", "Gender", "Gender", "Gender", "S", "M"),
    (FEMALE, "FEMALE", "Gender", "Gender", "Gender", "S", "F"),
    (EHR, "EHR", "Type Concept", "Type Concept", "Type Concept", "S", "OMOP4976890"),
)

#: ResearchSubject study identifiers (another study than carnk-aid).
STUDIES: tuple[str, ...] = ("carnk-aid", "NCT05012345", "NCT04987654", "ChiCTR2300071234")
#: Investigators: (provider_id, FHIR performer display).
INVESTIGATORS: tuple[str, ...] = ("Dr. Li Wei (PI)", "Dr. Zhang Min (sub-investigator)", "Dr. Chen Jie (PI)")

ALLERGY_TYPES = ("allergy", "intolerance")
CRITICALITIES = ("low", "high", "unable-to-assess")
SEVERITIES = ("mild", "moderate", "severe")


def idx(*keys: str) -> list[int]:
    """Catalogue indices of ``keys``."""
    return [INDEX[k] for k in keys]
