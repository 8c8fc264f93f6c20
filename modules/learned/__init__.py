"""The learned back end: neural module networks (Johnson et al. 2017) compiled into batches.

The inference path is this folder; training is :mod:`.training`, which it never imports.

* :mod:`.backend`, :mod:`.explain` -- ``get_backend("learned")`` and saliency PNGs;
* :mod:`.modules` -- the module registry (one module per function token, from the vocabulary);
* :mod:`.stem`, :mod:`.model` -- the CNN stem, the network and its config;
* :mod:`.compiler`, :mod:`.batching` -- a batch of programs -> one cached plan of batched
  module calls; a dataset's programs as arrays;
* :mod:`.checkpoint` -- safetensors checkpoints with their config;
* :mod:`.training` -- ``clevr train learned``: trainer, datasets, pretraining, widening.

torch is imported by the submodules, never by this package's import.
"""
