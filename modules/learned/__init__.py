"""The learned back end: neural module networks (Johnson et al. 2017) compiled into batches.

* :mod:`.modules` -- the module registry (one module per function token, from the vocabulary);
* :mod:`.stem`, :mod:`.model` -- the CNN stem, the network and its config;
* :mod:`.compiler` -- a batch of programs -> one cached plan of batched module calls;
* :mod:`.train`, :mod:`.session`, :mod:`.checkpoint` -- training (DDP-ready, resumable,
  ``clevr train learned``) and safetensors checkpoints;
* :mod:`.pretrain`, :mod:`.auxiliary` -- optional helpers from the world's free labels: stem
  pretraining on dense attributes, and set supervision of intermediate modules;
* :mod:`.data`, :mod:`.toy` -- datasets from a world folder, or made up for tests;
* :mod:`.backend`, :mod:`.explain` -- ``get_backend("learned")`` and saliency PNGs.

torch is imported by the submodules, never by this package's import.
"""
