#!/usr/bin/env python3
"""Consistency check of a generated data set (standard library only).

python check_truth.py out/
 - every data row of every department file is labelled exactly once in truth.csv
 - row counts per file/sheet agree; every person_key exists in persons.csv
 - noise_log rows point at existing labelled rows with the same person
 - ID check digits in persons.csv are valid
 - prints number of true cross-row pairs (rows of the same person), split within/between files
"""
import csv
import io
import os
import re
import sys
import zipfile
from collections import Counter, defaultdict
from xml.etree import ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}


def read_csv_rows(path):
    raw = open(path, "rb").read()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            txt = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    return list(csv.reader(io.StringIO(txt, newline="")))


def read_xlsx_sheets(path):
    """sheet name -> list of physical row numbers that contain at least one value"""
    z = zipfile.ZipFile(path)
    wb = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    for sh in wb.find("m:sheets", NS):
        rid = sh.get("{%s}id" % NS["r"])
        t = target[rid].lstrip("/")
        t = t if t.startswith("xl/") else "xl/" + t
        root = ET.fromstring(z.read(t))
        rows = []
        for row in root.iter("{%s}row" % NS["m"]):
            if any(c.find("m:v", NS) is not None or c.find("m:is", NS) is not None for c in row):
                rows.append(int(row.get("r")))
        out[sh.get("name")] = rows
    return out


def id_ok(s):
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return False
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(a) * b for a, b in zip(s, w)) % 11] == s[-1]


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "out"
    errors = []
    persons = {r["person_key"]: r for r in csv.DictReader(open(os.path.join(d, "persons.csv"), encoding="utf-8"))}
    bad_ids = [k for k, r in persons.items() if not id_ok(r["id18"])]
    if bad_ids:
        errors.append(f"{len(bad_ids)} invalid id18 in persons.csv")
    if len({r["id18"] for r in persons.values()}) != len(persons):
        errors.append("duplicate id18 in persons.csv")
    truth = list(csv.DictReader(open(os.path.join(d, "truth.csv"), encoding="utf-8")))
    lab = defaultdict(dict)
    for t in truth:
        key = (t["file"], t["sheet"])
        rn = int(t["row_number"])
        if rn in lab[key]:
            errors.append(f"row labelled twice: {key} {rn}")
        lab[key][rn] = t["person_key"]
        if t["person_key"] not in persons:
            errors.append(f"unknown person {t['person_key']}")
    files = sorted({t["file"] for t in truth})
    on_disk = sorted(f for f in os.listdir(d) if f not in ("truth.csv", "persons.csv", "noise_log.csv")
                     and f.endswith((".csv", ".xlsx")))
    if files != on_disk:
        errors.append(f"file sets differ: truth={files} disk={on_disk}")
    print(f"{'file':58s} {'sheet':8s} {'rows':>6s}")
    total = 0
    for f in on_disk:
        p = os.path.join(d, f)
        if f.endswith(".csv"):
            rows = read_csv_rows(p)
            ncol = len(rows[0])
            data = list(range(2, len(rows) + 1))
            for i, r in enumerate(rows[1:], start=2):
                if len(r) != ncol:
                    errors.append(f"{f} row {i}: {len(r)} columns, header has {ncol}")
            sheets = {"": data}
        else:
            sheets = {s: [r for r in rr if r != 1] for s, rr in read_xlsx_sheets(p).items()}
        for s, data in sheets.items():
            got = sorted(lab.get((f, s), {}))
            if got != sorted(data):
                errors.append(f"{f}/{s}: {len(data)} data rows in file, {len(got)} labelled "
                              f"(unlabelled {sorted(set(data) - set(got))[:5]}, extra {sorted(set(got) - set(data))[:5]})")
            print(f"{f:58s} {s:8s} {len(data):6d}")
            total += len(data)
    print(f"total data rows: {total}; truth rows: {len(truth)}")
    for n in csv.DictReader(open(os.path.join(d, "noise_log.csv"), encoding="utf-8")):
        k = (n["file"], n["sheet"])
        if lab.get(k, {}).get(int(n["row_number"])) != n["person_key"]:
            errors.append(f"noise_log row not matching truth: {n}")
            break
    rows_of = defaultdict(list)
    for t in truth:
        rows_of[t["person_key"]].append(t["file"] + "|" + t["sheet"])
    pairs = within = 0
    for k, locs in rows_of.items():
        n = len(locs)
        pairs += n * (n - 1) // 2
        for c in Counter(locs).values():
            within += c * (c - 1) // 2
    dist = Counter(min(len(v), 6) for v in rows_of.values())
    nfiles = Counter(len({x.split("|")[0] for x in v}) for v in rows_of.values())
    print(f"persons: {len(persons)}; persons with >=1 row: {len(rows_of)}; "
          f"rows per listed person: {dict(sorted(dist.items()))} (6 = 6+)")
    print(f"persons by number of distinct files: {dict(sorted(nfiles.items()))}")
    print(f"true cross-row pairs: {pairs} (same file/sheet: {within}, across files/sheets: {pairs - within})")
    if errors:
        print("ERRORS:")
        for e in errors[:30]:
            print("  ", e)
        sys.exit(1)
    print("OK: truth consistent with outputs")


if __name__ == "__main__":
    main()
