"""clevrlang's own CLEVR world: scenes, camera, renderer (and, elsewhere, questions and files).

* :mod:`clevrlang.world.camera` -- CLEVR's perspective camera (Blender's, tracking the origin);
* :mod:`clevrlang.world.scenes` -- ``make_scene``: CLEVR's placement rules, directions and
  relationships, CoGenT conditions, deterministic per (seed, image index);
* :mod:`clevrlang.world.render` -- ``render`` / ``render_batch``: a vectorised ray caster that
  runs the same code on NumPy arrays (CPU) and torch tensors (GPU batches).
"""
