"""The settings of one fine-tuning run: read by the training loop (`finetune`) and the model it trains
(`lora_model`), so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TrainSettings"]


@dataclass(frozen=True, slots=True)
class TrainSettings:
    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.05
    learning_rate: float = 5e-4
    head_learning_rate: float = 2e-3
    weight_decay: float = 0.01
    epochs: int = 3
    batch_size: int = 32
    warmup_share: float = 0.06
    class_weight_power: float = 0.5
    complaint_repeat: int = 3
    head_dropout: float = 0.1
    seed: int = 0
    max_train_items: int | None = None  # a cap for quick runs (a random sample of all items)
    # Caps per dataset, "name=count" comma-separated; a name also caps each folder under it
    # ("xlmt_sentiment=1000" takes 1000 per language). Where CPU time is short, fewer items from the
    # largest sets keep every source in the mix.
    dataset_caps: str = ""
    # people's corrections (dataset wom_corrections) are few against tens of thousands of public items;
    # each is seen this many times per epoch
    corrections_repeat: int = 1
