"""Training and measuring the engineered back end; inference never imports this package.

* :mod:`.command` -- ``clevr train engineered``; :mod:`.train` -- ``train_engineered``:
  resumable stages from a world folder or images in memory;
* :mod:`.detector_train` -- the detector trained from scratch, checkpointed as safetensors;
* :mod:`.fitting`, :mod:`.samples` -- features, attribute models, held-out evaluation, and
  the training samples they read;
* :mod:`.evaluate`, :mod:`.ablation` -- component metrics, QA accuracy, the ablation table.
"""
