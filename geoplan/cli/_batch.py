"""``geoplan batch``: coverage for many areas (counties) on Dask, resumable."""

from __future__ import annotations

import sys

import click

from geoplan.cli._common import lang_opt, output_opt, overwrite_opt


@click.command("batch")
@click.argument("areas", type=click.Path(exists=True, dir_okay=False))
@output_opt
@click.option("--scheduler", default=None, metavar="ADDR",
              help="已有 Dask 集群调度器地址 / use an existing Dask cluster, e.g. tcp://host:8786 (default: a local "
                   "cluster); its workers must see the same input and output paths.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="本地集群工作进程数 / worker processes of the local cluster.")
@click.option("--buffer-m", type=click.FloatRange(min=0), default=2000, show_default=True,
              help="地区缓冲距离（米）/ buffer around each area for its network and facilities (m).")
@click.option("--no-service-areas", is_flag=True, help="不计算服务范围面 / skip service-area polygons.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="标准与目标配置（各地区通用）/ TOML or YAML overriding cutoffs, modes and targets, for every area.")
@overwrite_opt
@lang_opt
def command(areas, output, scheduler, workers, buffer_m, no_service_areas, config_path, overwrite, lang):
    """分区批量覆盖评估（Dask）/ run coverage for every area of an areas table on Dask.

    OUTPUT is created by batch (marked with .geoplan-output) or must be a
    batch folder it created earlier (or empty); any other folder is refused.
    Finished areas are skipped unless --overwrite, but only while what
    produced them is unchanged (their row, the content of their input files,
    the options, geoplan's version; recorded in done.json); a changed area is
    recomputed.  Area ids must be safe folder names, checked for the whole
    table before any work.  Each facility type is timed on the graph of its
    own travel mode (walk/drive, from --config or the defaults), every graph built from
    the area's one network file and read as `geoplan coverage` reads it; the
    方式 column overrides modes as --mode does: `drive` for every type,
    `殡仪馆=drive;社工站=walk` per type.  The summary names the mode of each
    type ({type}_mode).  A failing area is reported in the summary and the
    others go on.  On a cluster (--scheduler) an area whose worker dies is run
    again on another worker; an area folder appears only complete.  If the
    scheduler dies, run the same command again.  Prints the summary path;
    exit code 1 when any area failed.

    \b
    Example:
      geoplan batch 各区县.csv -o 全省覆盖2026 --workers 4
      geoplan batch 各区县.csv -o 全省覆盖2026 --scheduler tcp://10.0.0.5:8786
      geoplan batch 各区县.csv -o 全省覆盖2026 --config targets.toml   # e.g. a type by car
    """
    from geoplan.coverage import standards
    from geoplan.batch import run_batch
    from geoplan.outputs import write_batch_summary

    catalogue = standards.load_catalogue(config_path) if config_path else None
    summary = run_batch(areas, output, scheduler=scheduler, n_workers=workers, buffer_m=buffer_m,
                        overwrite=overwrite, lang=lang, with_service_areas=not no_service_areas, catalogue=catalogue,
                        report=write_batch_summary)
    click.echo(str(summary.attrs["paths"]["csv"]))
    if (summary["status"] == "failed").any():
        sys.exit(1)
