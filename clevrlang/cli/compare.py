"""``clevr compare``: every back end side by side on a world split, as a report folder."""

from __future__ import annotations

import os

import click


@click.command()
@click.option("--world", "world_dir", required=True, type=click.Path(), help="A world folder.")
@click.option("--split", default="val", show_default=True)
@click.option("--backend", "backend_spec", default=None,
              help="Back ends, comma separated (default: every available one).")
@click.option("--compress", "compress_specs", multiple=True, metavar="CODEC:BYTES",
              help="Also answer after this codec round trip (repeatable), e.g. jpeg:128.")
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@click.option("--out", "out_dir", default=None, help="Report folder (default: WORLD/report).")
def compare(world_dir, split, backend_spec, compress_specs, limit, out_dir):
    """Answer a world split with every back end and write a Markdown + PNG report."""
    from rich.console import Console

    from clevrlang.compare import _markdown_table, parse_compress, run_comparison, write_report

    backends = [b.strip() for b in backend_spec.split(",")] if backend_spec else None
    cmp = run_comparison(world_dir, split, backends, parse_compress(compress_specs), limit)
    readme = write_report(cmp, out_dir or os.path.join(world_dir, "report"), world_dir)
    console = Console(width=160)
    console.print(_markdown_table(cmp.rows), markup=False)
    console.print(f"report: {readme}")
