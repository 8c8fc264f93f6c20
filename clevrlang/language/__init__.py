"""The language itself, one stage per module, in pipeline order.

* :mod:`.vocabulary` -- types, attribute values and every function's signature (the one
  vocabulary); :mod:`.errors` -- the error root, rendered as file:line:col + caret;
* :mod:`.syntax`, :mod:`.parser` -- .clv text -> AST (the Lark grammar in ``grammar/``);
  :mod:`.metadata` -- the ``#@`` comment lines ``clevr convert`` writes;
* :mod:`.check` -- AST -> typed IR: names, types, ``filter[...]``, ``def`` inlining;
* :mod:`.ir` -- the hash-consed IR DAG; :mod:`.program` -- a checked program and its three
  spellings; :mod:`.clevr_json` -- CLEVR's JSON program format <-> IR;
* :mod:`.printing`, :mod:`.formatting` -- canonical layout (``Program.to_clv``, ``clevr fmt``);
* :mod:`.semantics` -- what each CLEVR function means on a scene graph, for every executor;
  :mod:`.deep` -- recursive walks without Python recursion.

Running a program (the runtime, back ends, the CLI) lives outside this package.
"""
