"""The REPL (``clevr repl``): :mod:`.session` keeps the statements and the current input,
:mod:`.commands` the ``:commands``, :mod:`.show` draws ``:show``, :mod:`.prompt` is the terminal.
"""
