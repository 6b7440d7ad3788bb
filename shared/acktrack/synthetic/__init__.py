"""Synthetic X12 with invented people: 834s from a sender, 999s and TA1s from an insurer."""
