"""``%load_ext clevrlang``: .clv in notebook cells, on a current scene / image / back end.

::

    %clv_scene FILE [--index I]     the current scene (and its image, when it lies beside it)
    %clv_image PATH                 the current image (and its world's scene, when it has one)
    %clv_backend NAME               symbolic, engineered or learned
    %%clv [--backend B] [--world DIR [--split S]] [--scene FILE] [--image PATH] [--index I]
    %clv_ask "QUESTION?"            the program generator's program, shown and run

A cell runs like REPL input (:class:`~clevrlang.repl.session.Session`, one per notebook): ``let``
and ``def`` stay for later cells, each result is shown richly (objects boxed on the image,
images as pictures), ``expect`` shows pass or FAIL, and an error shows its caret message,
never a traceback.
"""

from __future__ import annotations

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from clevrlang.language.errors import ClevrError
from clevrlang.language.vocabulary import Type
from clevrlang.notebook.display import Message, Picture, Result
from clevrlang.repl.session import Session


def _echo(text: str, kind: str = "out") -> None:
    display(Message(text, kind))


class NotebookSession(Session):
    """The REPL's session, showing results as rich objects instead of lines of text."""

    def _show_root(self, root) -> None:
        if root.is_expect:
            return super()._show_root(root)
        value, interp = self.evaluate(root.node)
        display(Result(root.text, str(root.node.type), self.format(root.node, value, interp),
                       self._picture(root.node, value, interp)))

    def _picture(self, node, value, interp):
        from clevrlang.trace import image_of, node_picture

        if node.type is Type.IMAGE and getattr(value, "ndim", 0) == 3:
            return value
        if interp is None:
            return None
        image = self.image if self.image is not None else image_of(interp.context, interp)
        return node_picture(node, value, interp.context, image)

    def ask(self, question: str, unknown: bool = False) -> None:
        """Like the REPL's ``?``, with the program shown highlighted before it runs."""
        from clevrlang.asking import LOW_CONFIDENCE, default_generator

        best, *others = default_generator().top(question, 3, unknown)
        display(best.program)
        if best.probability < LOW_CONFIDENCE:
            self.echo(f"unsure (p={best.probability:.2f}); also: " + "; ".join(
                f"{g.program.to_clv()} (p={g.probability:.2f})" for g in others), "note")
        self.asked.append(best.program.to_clv())
        self.run_source(best.program.to_clv())


@magics_class
class ClvMagics(Magics):
    """The magics ``%load_ext clevrlang`` registers; they share one session."""

    def __init__(self, shell=None):
        super().__init__(shell)
        self.session = NotebookSession(echo=_echo)

    def _run(self, text: str, quiet: bool = False) -> bool:
        """Run REPL input (a ``:command`` or statements); False if it failed."""
        failed = []
        echo = self.session.echo

        def watch(message: str, kind: str = "out") -> None:
            if kind == "error":
                failed.append(message)
                echo(message, kind)
            elif not quiet:
                echo(message, kind)

        self.session.echo = watch
        try:
            self.session.execute(text)
        finally:
            self.session.echo = echo
        return not failed

    @magic_arguments()
    @argument("--backend", "-b", help="symbolic, engineered or learned")
    @argument("--world", "-w", help="a world folder: its scene and image")
    @argument("--split", help="the world's split (default: its only or val split)")
    @argument("--scene", "-s", help="a CLEVR scenes file")
    @argument("--image", help="an image file")
    @argument("--index", "-i", type=int, default=None, help="the scene's index")
    @cell_magic
    def clv(self, line: str, cell: str) -> None:
        """Run the cell as .clv on the current scene / image and back end."""
        args = parse_argstring(self.clv, line)
        if self._configure(args):
            self._run(cell)

    def _configure(self, args) -> bool:
        """Apply the options of a ``%%clv`` line; False (the error shown) if one fails."""
        s = self.session
        try:
            if args.world:
                from clevrlang.repl.session import _world_inputs

                s.scene, image_path, s.scene_label = _world_inputs(
                    args.world, args.index or 0, args.split)
                s.set_image(image_path)
        except ClevrError as e:
            _echo(e.render(), "error")
            return False
        commands = []
        if args.scene:
            commands.append(f":scene {args.scene} {args.index or 0}")
        if args.image:
            commands.append(f":image {args.image}")
        if args.backend:
            commands.append(f":backend {args.backend}")
        return all(self._run(c, quiet=True) for c in commands)

    @magic_arguments()
    @argument("file", help="a CLEVR scenes file")
    @argument("--index", "-i", type=int, default=0, help="the scene's index")
    @line_magic
    def clv_scene(self, line: str) -> None:
        """``%clv_scene FILE [--index I]``: the current scene, shown with its objects."""
        args = parse_argstring(self.clv_scene, line)
        if self._run(f":scene {args.file} {args.index}", quiet=True):
            display(self.session.scene)

    @line_magic
    def clv_image(self, line: str) -> None:
        """``%clv_image PATH``: the current image (and the scene beside it, if any)."""
        if self._run(f":image {line.strip()}", quiet=True):
            display(Picture(self.session.image, line.strip()))

    @line_magic
    def clv_backend(self, line: str) -> None:
        """``%clv_backend NAME``: the back end later cells run on."""
        self._run(f":backend {line.strip()}")

    @line_magic
    def clv_ask(self, line: str) -> None:
        """``%clv_ask "QUESTION?"``: the generated program, and its answer on the current input.

        Quotes are optional; without them IPython reads a line that ends in ``?`` as a request
        for help, so a question mark needs them."""
        question = line.strip()
        if len(question) > 1 and question[0] == question[-1] and question[0] in "'\"":
            question = question[1:-1]
        self._run(f"? {question}")


__all__ = ["ClvMagics", "NotebookSession"]
