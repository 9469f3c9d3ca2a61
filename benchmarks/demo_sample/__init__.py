"""The generator of the demo's sample mentions (monitor/demo/sample_mentions.jsonl), outside the runtime package."""
