"""``clevr compare``: every back end side by side on world splits, as a report folder."""

from __future__ import annotations

import os

import click

from clevrlang.cli.options import quiet_option


@click.command()
@click.option("--world", "world_dirs", required=True, multiple=True, type=click.Path(),
              metavar="DIR", help="A world folder (from `clevr world make`, or CLEVR v1.0); "
                                  "repeat it to compare on several worlds (e.g. CoGenT's A "
                                  "and B).")
@click.option("--split", "split_spec", default="val", show_default=True,
              help="The split whose answered questions are compared; comma separated for "
                   "several (e.g. valA,valB: CoGenT's conditions in one world).")
@click.option("--backend", "backend_spec", default=None,
              help="Back ends, comma separated (default: every available one).")
@click.option("--model", "model_specs", multiple=True, metavar="BACKEND=PATH",
              help="Compare BACKEND with this model instead of its installed one (repeat it "
                   "for several models of one back end, one row each; BACKEND=default is the "
                   "installed model).")
@click.option("--compress", "compress_specs", multiple=True, metavar="CODEC:BYTES",
              help="Also answer after this codec round trip (repeatable), e.g. jpeg:128.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N questions (of each world).")
@click.option("--out", "out_dir", default=None,
              help="Report folder (default: WORLD/report; required with several worlds).")
@quiet_option
def compare(world_dirs, split_spec, backend_spec, model_specs, compress_specs, limit, out_dir, quiet):
    """Answer a world split with every back end and write a Markdown + PNG report."""
    from rich.console import Console

    from clevrlang.backends import check_name
    from clevrlang.compare import (_markdown_table, _worlds_table, compare_worlds,
                                   parse_compress, parse_models, run_comparison,
                                   write_report, write_worlds_report)

    backends = [check_name(b.strip()) for b in backend_spec.split(",")] if backend_spec else None
    models, compress = parse_models(model_specs), parse_compress(compress_specs)
    splits = [s.strip() for s in split_spec.split(",") if s.strip()]
    console = Console(width=160)
    if len(world_dirs) * len(splits) > 1:
        if out_dir is None:
            raise click.UsageError("with several worlds or splits, say where the report goes: "
                                   "--out DIR")
        cmps = compare_worlds(world_dirs, splits, backends, compress, limit, progress=not quiet,
                              models=models)
        readme = write_worlds_report(cmps, out_dir)
        console.print(_worlds_table(cmps), markup=False)
    else:
        world_dir = world_dirs[0]
        cmp = run_comparison(world_dir, splits[0], backends, compress, limit, progress=not quiet,
                             models=models)
        readme = write_report(cmp, out_dir or os.path.join(world_dir, "report"), world_dir)
        console.print(_markdown_table(cmp.rows), markup=False)
    console.print(f"report: {readme}")
