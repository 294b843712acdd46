"""Steward: governance rules for Jira and GitHub Issues."""

__version__ = "0.1.0"
