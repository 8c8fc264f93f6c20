"""clevrlang in Jupyter: rich display of its objects and the ``%%clv`` cell magic.

``%load_ext clevrlang`` registers the magics (:mod:`clevrlang.notebook.magics`); the objects'
``_repr_html_`` / ``_repr_png_`` / ``_repr_markdown_`` methods call into
:mod:`clevrlang.notebook.display`. Neither IPython nor this package is imported by
``import clevrlang``; IPython comes with the ``notebook`` extra
(``pip install 'clevrlang[notebook]'``).
"""
