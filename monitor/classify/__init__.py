"""Classification of mention texts: sentiment, confidence, score, language and intent."""

from monitor.classify.base import Classification, Classifier, Intent, Sentiment

__all__ = ["Classification", "Classifier", "Intent", "Sentiment"]
