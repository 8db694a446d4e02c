"""``geoplan compare``: indicator changes between two coverage report folders (two dates or two runs)."""

from __future__ import annotations

import click

from geoplan._errors import InputError
from geoplan.cli._common import echo_paths, lang_opt, output_opt, overwrite_opt


@click.command("compare")
@click.argument("run_a", type=click.Path(exists=True, file_okay=False))
@click.argument("run_b", type=click.Path(exists=True, file_okay=False))
@click.option("--label", "labels", multiple=True, metavar="TEXT",
              help="两次评估的名称（给两次，默认用统计截止日或文件夹名）/ names of the two runs (give twice; default: "
                   "their as-of dates, else the folder names).")
@click.option("--title", default=None, help="报告标题 / report title.")
@output_opt
@overwrite_opt
@lang_opt
def command(run_a, run_b, labels, title, output, overwrite, lang):
    """对比两次覆盖评估的指标变化 / compare the indicators of two coverage reports.

    RUN_A and RUN_B are report folders written by ``geoplan coverage`` (e.g. with
    ``--as-of 2021-12-31`` and ``--as-of 2023-12-31``); each holds ``summary.csv``.
    The report gives, per type and level, the value before → after, the change in
    percentage points and whether the target was met at each date.

    \b
    Example:
      geoplan coverage ... --as-of 2021-12-31 -o 覆盖2021
      geoplan coverage ... --as-of 2023-12-31 -o 覆盖2023
      geoplan compare 覆盖2021 覆盖2023 -o 对比2021-2023
    """
    from geoplan import coverage
    from geoplan._output import check_new_file
    from geoplan.outputs._compare_outputs import write_comparison

    check_new_file(output, overwrite=overwrite)
    if labels and len(labels) != 2:
        raise InputError(f"give --label twice (one per run), not {len(labels)} time(s)", field="--label")
    (sa, ia), (sb, ib) = coverage.read_run(run_a), coverage.read_run(run_b)
    before, after = labels or (ia["label"], ib["label"])
    if before == after:
        before, after = f"{before} (A)", f"{after} (B)"
    table = coverage.compare_summaries(sa, sb)
    notes = [f"A：{run_a}" + (f"（统计截止日 {ia['as_of']}）" if ia["as_of"] else ""),
             f"B：{run_b}" + (f"（统计截止日 {ib['as_of']}）" if ib["as_of"] else "")] if lang == "zh" else \
        [f"A: {run_a}" + (f" (as of {ia['as_of']})" if ia["as_of"] else ""),
         f"B: {run_b}" + (f" (as of {ib['as_of']})" if ib["as_of"] else "")]
    echo_paths(write_comparison(table, output, before=before, after=after, lang=lang, title=title, notes=notes,
                                overwrite=overwrite))
