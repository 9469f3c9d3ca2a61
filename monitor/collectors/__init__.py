"""Collectors: scheduled, incremental pulls of public mentions from each platform."""
