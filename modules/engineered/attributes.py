"""The attribute models: scikit-learn SVMs for colour, material, size (and shape), a
regression for position, fitted by cross-validation and stored without pickles.

Each classifier is ``StandardScaler -> SVC(rbf)``; ``C`` and ``gamma`` are chosen on a small
grid by :class:`~sklearn.model_selection.GridSearchCV` (stratified folds, on a subsample so
the search stays quick), then the best setting is refitted on all the data (capped at
``max_fit`` rows, since an SVM's cost grows with the square of its rows). The cap is high on
purpose: refitting the shape SVM on all 25,927 rows of a 2,000-image world instead of 8,000
halved its held-out errors (98.94 % -> 99.62 %) for ~40 s more.

Position: boxes are back-projected through the camera (:mod:`.geometry`) to the height of
the object's centre; a ridge regression on the box geometry then corrects what the plain
back-projection gets wrong on average (perspective offsets of box centres, the camera jitter
between images). Targets are ground-frame coordinates.
"""

from __future__ import annotations

import logging
import time

import numpy as np

log = logging.getLogger(__name__)

C_GRID = (1.0, 10.0, 100.0)
GAMMA_GRID = ("scale", 0.3, 3.0)  # multiples of "scale" (1 / n_features) for the last two


def _gammas(n_features: int) -> list:
    base = 1.0 / max(n_features, 1)
    return ["scale"] + [base * g for g in GAMMA_GRID[1:]]


def fit_svm(x: np.ndarray, y: np.ndarray, *, max_search: int = 2000, max_fit: int = 50000,
            cv: int = 3, seed: int = 0, name: str = "svm"):
    """A fitted ``StandardScaler + SVC`` pipeline and the search's best CV accuracy."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    pipe = make_pipeline(StandardScaler(), SVC(kernel="rbf"))
    t0 = time.time()
    if len(classes) < 2:  # a degenerate training set: an SVM cannot be fitted
        from sklearn.dummy import DummyClassifier

        return DummyClassifier(strategy="most_frequent").fit(x, y), float("nan")
    folds = int(min(cv, counts.min())) if counts.min() >= 2 else 0
    if folds >= 2:
        pick = rng.permutation(len(y))[:max_search]
        grid = {"svc__C": list(C_GRID), "svc__gamma": _gammas(x.shape[1])}
        search = GridSearchCV(pipe, grid, cv=StratifiedKFold(folds, shuffle=True,
                                                             random_state=seed), n_jobs=1)
        try:
            search.fit(x[pick], y[pick])
            pipe.set_params(**search.best_params_)
            score = float(search.best_score_)
        except ValueError:  # a subsample lost a class in some fold: keep the defaults
            score = float("nan")
    else:
        score = float("nan")
    pick = rng.permutation(len(y))[:max_fit]
    pipe.fit(x[pick], y[pick])
    log.info("%s: %d rows, %d classes, cv accuracy %.4f, %s (%.1f s)", name, len(y),
             len(classes), score, {k: v for k, v in pipe.get_params().items()
                                   if k in ("svc__C", "svc__gamma")}, time.time() - t0)
    return pipe, score


def position_features(geometry: np.ndarray, centre_heights: np.ndarray, backprojected
                      ) -> np.ndarray:
    """Regression inputs: the back-projected centre, the box geometry and the height."""
    return np.c_[backprojected, geometry, centre_heights].astype(np.float64)


def fit_position(x: np.ndarray, target: np.ndarray, base: np.ndarray):
    """A ridge regression of the residual ``target - base`` (ground frame); see module doc."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    model = make_pipeline(StandardScaler(), PolynomialFeatures(2), RidgeCV(alphas=np.logspace(-3, 3, 7)))
    model.fit(x, target - base)
    return model
