"""Training the learned back end (``clevr train learned``); inference never imports this package.

* :mod:`.session` -- from a world folder to a checkpoint folder (what the CLI calls);
* :mod:`.train` -- the end-to-end trainer (DDP-ready, resumable); :mod:`.widen` -- a trained
  network made wider without changing what it computes;
* :mod:`.data`, :mod:`.toy` -- datasets from a world folder, or made up for tests;
* :mod:`.pretrain`, :mod:`.auxiliary` -- optional helpers from the world's free labels: stem
  pretraining on dense attributes, and set supervision of intermediate modules.
"""
