"""``clevr compare``: every back end side by side on a world split, as a report folder."""

from __future__ import annotations

import os

import click

from clevrlang.cli.options import quiet_option


@click.command()
@click.option("--world", "world_dir", required=True, type=click.Path(), metavar="DIR",
              help="A world folder (from `clevr world make`, or CLEVR v1.0).")
@click.option("--split", default="val", show_default=True,
              help="The split whose answered questions are compared.")
@click.option("--backend", "backend_spec", default=None,
              help="Back ends, comma separated (default: every available one).")
@click.option("--compress", "compress_specs", multiple=True, metavar="CODEC:BYTES",
              help="Also answer after this codec round trip (repeatable), e.g. jpeg:128.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N questions.")
@click.option("--out", "out_dir", default=None, help="Report folder (default: WORLD/report).")
@quiet_option
def compare(world_dir, split, backend_spec, compress_specs, limit, out_dir, quiet):
    """Answer a world split with every back end and write a Markdown + PNG report."""
    from rich.console import Console

    from clevrlang.backends import check_name
    from clevrlang.compare import _markdown_table, parse_compress, run_comparison, write_report

    backends = [check_name(b.strip()) for b in backend_spec.split(",")] if backend_spec else None
    cmp = run_comparison(world_dir, split, backends, parse_compress(compress_specs), limit,
                         progress=not quiet)
    readme = write_report(cmp, out_dir or os.path.join(world_dir, "report"), world_dir)
    console = Console(width=160)
    console.print(_markdown_table(cmp.rows), markup=False)
    console.print(f"report: {readme}")
