"""Learner families and their search spaces; each module wraps one library."""
