"""Training losses; every loss is lower-is-better."""
