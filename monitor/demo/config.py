"""The config `wom demo` writes: the example shop Koffiekoning and its competitor BonenBaas, no keys needed."""

from __future__ import annotations

import json

from monitor.demo.story import DEMO_STORY, DemoStory

__all__ = ["demo_config_toml"]


def _toml_str(value: str) -> str:
    # a JSON string is a valid TOML basic string: quotes, backslashes (Windows paths) and controls escaped
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def demo_config_toml(database_url: str, *, story: DemoStory = DEMO_STORY) -> str:
    """A complete config for the demo; `monitor.config.settings_from_mapping(tomllib.loads(...))` accepts it."""
    return f"""\
# wom demo config: an example Dutch online coffee shop and one competitor.
# Written by `wom demo`; every key is explained in config.example.toml.

[database]
url = {_toml_str(database_url)}  # where the demo keeps its mentions and results
echo = false                     # true logs every SQL statement

[api]
host = "127.0.0.1"  # the dashboard listens on this machine only
port = 8000
public_url = ""     # base of links in alert e-mails; empty: http://host:port

[pipeline]
batch_size = 128             # mentions per stage run
interval_seconds = 60        # how often the scheduler runs the stages
claim_timeout_seconds = 600  # a stage's claim on a batch expires after this

[classifier]
backend = "e5"  # multilingual e5 fine-tuned for sentiment and complaints, runs offline (ONNX, int8)
batch_size = 32       # texts per model call
threads = 2           # CPU threads for the model

[scoring]
half_life_days = 90.0  # a mention's weight halves every 90 days
min_mentions = 2       # fewer mentions than this never make an ambassador or detractor
# the shop's own accounts and its support staff: their (friendly) replies never rank them as fans
staff_handles = {_toml_list(story.not_fan_handles)}

[scoring.segments]
ambassador = 3.0  # ambassador score at or above this: ambassador
fan = 1.0         # ... at or above this: fan
critic = 1.0      # detractor score at or above this: critic
detractor = 3.0   # ... at or above this: detractor

[alerts]
influential_min_reach = 5000  # a negative mention from an author with this reach alerts at once
spike_windows_minutes = [60, 360]  # negatives are counted in sliding windows of these many minutes
spike_p_value = 0.001         # ... and fire when this unlikely under the brand's usual rate for that time
spike_min_count = 5           # a spike needs at least this many negative mentions in its window
max_age_days = 3650           # the sample is from Oct-Nov 2026: keep its alerts whenever the demo runs
email_to = []                 # the demo sends no e-mail; alerts show on the dashboard

[smtp]
host = ""  # no mail server in the demo; set one (and WOM_SMTP_PASSWORD) to e-mail alerts
port = 587
sender = "wom@localhost"
username = ""
starttls = true
timeout_seconds = 10.0

[[brands]]
name = {_toml_str(story.brand)}
timezone = "Europe/Amsterdam"  # days and hours in the dashboard and in spike windows are Amsterdam time
keywords = ["koffiekoning", "koffiekoning.nl"]  # words in a text that mean the brand, any case
exclusions = [{_toml_str(story.exclusion)}]     # "de koffiekoning van Utrecht" is a barista contest, not the shop
hashtags = ["#koffiekoning"]
# @-mentions of these accounts count as the brand; their own posts are the brand speaking
handles = {{ x = ["koffiekoning", "koffiekoning_support"], bluesky = ["koffiekoning.nl"] }}

[[brands.competitors]]
name = {_toml_str(story.competitor)}
keywords = ["bonenbaas", "bonenbaas.nl"]
exclusions = []
hashtags = ["#bonenbaas"]
handles = {{ x = ["bonenbaas"], bluesky = ["bonenbaas.nl"] }}
"""
