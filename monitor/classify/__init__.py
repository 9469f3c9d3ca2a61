"""Classification of mention texts: sentiment, confidence, score, language and intent.

This package serves the classifier (`factory.build_classifier`: the default e5 model on onnxruntime, or the
transformers backend, the only one that loads torch, when configured). It imports neither `monitor.storage`
nor its `training` subpackage (training, evaluation, corrections as training data), which may import it.
"""

from monitor.classify.base import Classification, Classifier, Intent, Sentiment

__all__ = ["Classification", "Classifier", "Intent", "Sentiment"]
