"""Measuring perception against the world's truth: components, scenes and answers.

* :func:`component_metrics` -- detection precision and recall at IoU 0.5 (against whole-
  object boxes), attribute accuracy over matched objects, ground-position error (world
  units, in the camera's ground frame), view-depth error, relation accuracy (over ordered
  pairs of matched objects), and the share of images whose whole scene graph is right;
* :func:`qa_accuracy` -- answers on predicted scenes against the questions' answers, overall
  and per CLEVR question type.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from clevrlang.language.vocabulary import ATTRIBUTES, RELATIONS
from clevrlang.modules.engineered import geometry as geo


def _frame(scene: dict, width: int, height: int) -> np.ndarray:
    cam = geo.camera_of(scene, width, height)
    return geo.to_frame(cam, [o["3d_coords"][:2] for o in scene["objects"]])


def _relation_hits(pred: dict, true: dict, pairs) -> tuple[int, int]:
    """Ordered pairs of matched objects whose four relations all agree, and how many."""
    ok = n = 0
    for a, ta in pairs:
        for b, tb in pairs:
            if a == b:
                continue
            n += 1
            ok += all((b in pred["relationships"][r][a]) == (tb in true["relationships"][r][ta])
                      for r in RELATIONS)
    return ok, n


def component_metrics(predicted: list[dict], truth: list[dict], sizes) -> dict:
    """Component accuracies of predicted scenes against true ones (``sizes``: (w, h) each)."""
    tp = n_pred = n_true = exact = 0
    hits = defaultdict(int)
    pos_err, depth_err = [], []
    rel_ok = rel_n = 0
    for pred, true, (w, h) in zip(predicted, truth, sizes):
        pb = np.array([o["bbox"] for o in pred["objects"]], float).reshape(-1, 4)
        tb = geo.amodal_boxes(true, w, h)
        pairs = geo.match(pb, tb)
        tp += len(pairs)
        n_pred += len(pb)
        n_true += len(tb)
        right = len(pairs) == len(pb) == len(tb)
        pf = _frame(pred, w, h) if len(pb) else np.zeros((0, 2))
        tf = _frame(true, w, h)
        for p, t in pairs:
            po, to = pred["objects"][p], true["objects"][t]
            for attr in ATTRIBUTES:
                same = po[attr] == to[attr]
                hits[attr] += same
                right &= same
            pos_err.append(float(np.linalg.norm(pf[p] - tf[t])))
            if to.get("pixel_coords") and len(to["pixel_coords"]) == 3:
                depth_err.append(abs(po["pixel_coords"][2] - to["pixel_coords"][2]))
        ok, n = _relation_hits(pred, true, pairs)
        rel_ok, rel_n = rel_ok + ok, rel_n + n
        right &= ok == n
        exact += right
    out = {
        "images": len(truth), "objects": n_true,
        "detection_precision": tp / max(n_pred, 1), "detection_recall": tp / max(n_true, 1),
        **{f"{a}_accuracy": hits[a] / max(tp, 1) for a in ATTRIBUTES},
        "position_error_mean": float(np.mean(pos_err)) if pos_err else float("nan"),
        "position_error_p95": float(np.percentile(pos_err, 95)) if pos_err else float("nan"),
        "depth_error_mean": float(np.mean(depth_err)) if depth_err else float("nan"),
        "relation_accuracy": rel_ok / max(rel_n, 1),
        "scene_exact": exact / max(len(truth), 1),
    }
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in out.items()}


def qa_accuracy(answers: list, questions: list) -> dict:
    """Overall and per-question-type accuracy of ``answers`` (str or Failure) vs the truth."""
    from clevrlang.language.vocabulary import QUESTION_TYPES

    by_type: dict[str, list[int]] = {t: [0, 0] for t in QUESTION_TYPES}
    right = 0
    for a, q in zip(answers, questions):
        ok = isinstance(a, str) and a == q.answer
        right += ok
        t = q.question_type
        by_type.setdefault(t, [0, 0])
        by_type[t][0] += ok
        by_type[t][1] += 1
    return {"questions": len(questions), "accuracy": right / max(len(questions), 1),
            "by_type": {t: (r / n if n else None) for t, (r, n) in by_type.items()}}
