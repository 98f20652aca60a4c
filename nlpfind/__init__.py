"""nlpfind: tag, compare and retrain on findings in joint inspection reports."""

__version__ = "0.1.0"
