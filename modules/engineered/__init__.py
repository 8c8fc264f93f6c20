"""The engineered back end: hand-built perception, then the exact symbolic executor.

The inference path is this folder; training is :mod:`.training`, which it never imports.

* :mod:`.backend` -- ``EngineeredBackend`` (``get_backend("engineered")``): images ->
  predicted scene graphs -> answers; ``perceive``, ``draw``, ``interpreter``;
* :mod:`.perception` -- detector + SVMs + geometry -> CLEVR scene dicts (with ground-truth
  substitution for ablations); :mod:`.drawing` -- pictures of what it perceived;
* :mod:`.detector` -- YOLO built from its yaml, saved as safetensors; :mod:`.offline` keeps
  ultralytics offline and inside the project's cache folder;
* :mod:`.features`, :mod:`.attributes`, :mod:`.geometry` -- box features, the SVMs and the
  position regression, whole-object boxes and back-projection through CLEVR's camera;
* :mod:`.artefacts` -- the artefact folder, loaded without unpickling anything;
* :mod:`.training` -- ``clevr train engineered``: the detector, the attribute models, their
  samples, and the component metrics and ablation table.

Heavy libraries (torch, ultralytics, scikit-learn) load only when a model is built or used.
"""
