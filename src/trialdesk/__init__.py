"""trialdesk: computable eligibility screening for the CAR-NK trial in SLE and MDR-SRNS."""
