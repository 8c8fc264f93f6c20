"""The engineered back end: hand-built perception, then the exact symbolic executor.

* :mod:`.backend` -- ``EngineeredBackend`` (``get_backend("engineered")``): images ->
  predicted scene graphs -> answers; ``perceive``, ``draw``, ``interpreter``;
* :mod:`.perception` -- detector + SVMs + geometry -> CLEVR scene dicts (with ground-truth
  substitution for ablations);
* :mod:`.detector`, :mod:`.detector_train` -- YOLO built from its yaml, trained from
  scratch, saved and checkpointed as safetensors; :mod:`.offline` keeps ultralytics offline
  and inside the project's cache folder;
* :mod:`.features`, :mod:`.attributes`, :mod:`.geometry` -- box features, the SVMs and the
  position regression, whole-object boxes and back-projection through CLEVR's camera;
* :mod:`.train`, :mod:`.fitting`, :mod:`.samples` -- ``train_engineered``: resumable stages
  from a world folder or images in memory; :mod:`.artefacts` -- the artefact folder, loaded
  without unpickling anything; :mod:`.command` -- ``clevr train engineered``;
* :mod:`.evaluate`, :mod:`.ablation` -- component metrics, QA accuracy, the ablation table.

Heavy libraries (torch, ultralytics, scikit-learn) load only when a model is built or used.
"""
