"""wom, the word-of-mouth monitor."""

__version__ = "0.1.0"
