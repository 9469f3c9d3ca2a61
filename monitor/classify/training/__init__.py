"""Training and evaluating the classifier: labelled datasets, training packs, LoRA fine-tuning (needs
torch), calibration on val, scoring, and people's corrections as training items.

May import the serving modules in `monitor.classify`; nothing in serving imports this package, so the
classifier that `wom process` runs never loads torch.
"""
