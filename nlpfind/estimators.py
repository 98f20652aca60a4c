"""The trainable parts as scikit-learn estimators: what `nlpfind train` and `nlpfind evaluate` fit.

Each is its inference class (numpy only, in nlpfind.classify and nlpfind.features) with scikit-learn's
estimator protocol on top (get_params, set_params, clone, fit_transform). Only training imports this
module: scikit-learn takes about a second to import, and a loaded model predicts without it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from .classify import LinearScores, MultiLabelScores
from .features import SentenceFeatures

#: lbfgs's stopping tolerance. scikit-learn's default (1e-4) stops the solver early enough that embeddings moved at
#: 1e-7 (another CPU's arithmetic) moved coefficients by up to 0.5 and 3% of theme decisions on unseen reports; at
#: 1e-6 the same noise moves them by 0.04 and no decision on the training sentences (4x the iterations).
SOLVER_TOL = 1e-6


def _logistic_fit(X, y, sample_weight, C: float, class_weight: str | None, random_state: int):
    """Logistic regression fitted as every head fits it (lbfgs to `SOLVER_TOL`)."""
    from sklearn.linear_model import LogisticRegression

    # SOLVER_TOL is read here, at fit time, so that tests can loosen it
    return LogisticRegression(C=C, class_weight=class_weight, max_iter=3000, tol=SOLVER_TOL,
                              random_state=random_state).fit(X, y, sample_weight=sample_weight)


class SentenceFeaturizer(TransformerMixin, BaseEstimator, SentenceFeatures):
    """`SentenceFeatures` as a scikit-learn transformer; X is a tuple (inputs, embeddings)."""


class LinearHead(ClassifierMixin, BaseEstimator, LinearScores):
    """Multinomial logistic regression whose fitted state is two arrays."""

    def __init__(self, C: float = 4.0, class_weight: str | None = "balanced", random_state: int = 0) -> None:
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) == 1:
            self.coef_ = np.zeros((1, X.shape[1]), dtype=np.float32)
            self.intercept_ = np.zeros(1, dtype=np.float32)
            return self
        lr = _logistic_fit(X, y, sample_weight, self.C, self.class_weight, self.random_state)
        coef, intercept = lr.coef_, lr.intercept_
        if len(self.classes_) == 2:  # sklearn stores one row for binary problems
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)
        return self


class MultiLabelHead(BaseEstimator, MultiLabelScores):
    """One binary logistic regression per label; a label is on above `threshold`."""

    def __init__(self, labels: tuple[str, ...] = (), C: float = 4.0, threshold: float = 0.35,
                 random_state: int = 0) -> None:
        self.labels = labels
        self.C = C
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, X, Y: Sequence[Sequence[str]], sample_weight=None):
        n = X.shape[1]
        self.coef_ = np.zeros((len(self.labels), n), dtype=np.float32)
        self.intercept_ = np.full(len(self.labels), -10.0, dtype=np.float32)
        for k, label in enumerate(self.labels):
            y = np.array([label in row for row in Y], dtype=int)
            if y.sum() == 0 or y.sum() == len(y):
                continue
            lr = _logistic_fit(X, y, sample_weight, self.C, "balanced", self.random_state)
            self.coef_[k] = lr.coef_[0]
            self.intercept_[k] = lr.intercept_[0]
        return self
