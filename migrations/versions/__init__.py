"""Revision files, one per schema change, named `YYYY_MM_DD_HHMM_<rev>_<slug>.py`."""
