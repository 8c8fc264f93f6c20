"""clevrlang's own CLEVR world: scenes, renderer, questions and CLEVR's file layout.

* :mod:`clevrlang.world.camera` -- CLEVR's perspective camera (Blender's, tracking the origin);
* :mod:`clevrlang.world.scenes` -- ``make_scene``: CLEVR's placement rules, directions and
  relationships, CoGenT conditions, deterministic per (seed, image index);
* :mod:`clevrlang.world.render` -- ``render`` / ``render_batch``: a vectorised ray caster that
  runs the same code on NumPy arrays (CPU) and torch tensors (GPU batches);
* :mod:`clevrlang.world.questions` -- the question generator over CLEVR's 90 templates;
* :mod:`clevrlang.world.layout` -- CLEVR v1.0's folders and files: atomic writers, and
  ``open_world`` which also reads the real CLEVR v1.0 / CoGenT downloads;
* :mod:`clevrlang.world.make` -- ``clevr world make``: blocks of 250 images, resumable,
  shardable, deterministic for a seed; :mod:`clevrlang.world.show` draws overlays.
"""
