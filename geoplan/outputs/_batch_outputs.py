"""Write the summary report of a batch run (:func:`geoplan.batch.run_batch`): ``summary/report.{md,html,xlsx}``.

Batch computes and writes its machine table ``summary.csv`` itself; the report is presentation, so
it lives here and the caller passes it in (``run_batch(..., report=write_batch_summary)``, as
``geoplan batch`` does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from geoplan._output import output_folder
from geoplan.outputs._i18n import check_lang, label
from geoplan.outputs._report import Section, write_report


_STATUS_ZH = {"ok": "完成", "skipped": "跳过（此前已完成）", "failed": "失败"}


def _modes_in_chinese(summary: pd.DataFrame) -> pd.DataFrame:
    """Mode values in Chinese for the Chinese report (the CSV keeps walk/drive for machines)."""
    shown = summary.copy()
    for c in [c for c in shown.columns if c == "modes" or c.endswith("_mode")]:
        shown[c] = shown[c].map(lambda v: "、".join(str(label(m, "zh")) for m in str(v).split(",")) if v else v)
    return shown


def write_batch_summary(
    summary: pd.DataFrame,
    folder: str | os.PathLike,
    *,
    lang: str = "zh",
    inputs: Sequence[str | os.PathLike] = (),
) -> dict[str, Path]:
    """Write the batch summary report into ``folder/summary/`` (replaced all-or-nothing).

    Parameters
    ----------
    summary
        The table :func:`geoplan.batch.run_batch` returns (one row per area, ``status`` ok/skipped/failed).
    folder
        The batch folder.
    lang
        ``"zh"`` (default) or ``"en"``.
    inputs
        Files the batch read; the summary folder is never replaced when it holds one.

    Returns
    -------
    dict
        ``{"md", "html", "xlsx"}`` → the paths written.
    """
    check_lang(lang)
    out = Path(folder)
    n_ok = int((summary["status"] == "ok").sum())
    n_skip = int((summary["status"] == "skipped").sum())
    n_fail = int((summary["status"] == "failed").sum())
    if lang == "zh":
        title = "分区批量覆盖评估汇总"
        text = f"共 {len(summary)} 个地区：完成 {n_ok} 个，跳过（此前已完成）{n_skip} 个，失败 {n_fail} 个。" \
               "峰值内存为任务运行期间工作进程的常驻内存峰值（每 10 毫秒采样）。"
        heading = "各地区"
        shown = _modes_in_chinese(summary)
        shown["status"] = shown["status"].map(lambda v: _STATUS_ZH.get(v, v))
    else:
        title = "Batch coverage summary"
        text = f"{len(summary)} areas: {n_ok} done, {n_skip} skipped (finished earlier), {n_fail} failed. " \
               "Peak memory is the worker process's resident memory peak while the task ran (sampled every 10 ms)."
        heading = "Areas"
        shown = summary.copy()
    with output_folder(out / "summary", overwrite=True, inputs=inputs) as tmp:
        rep = write_report(tmp, title=title, sections=[Section(heading, text=text, table=shown, sheet=heading)],
                           lang=lang)
    return {k: out / "summary" / Path(v).name for k, v in rep.items()}
