"""What :func:`linli.demo.exports.generate_exports` hands back: the files and the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass
class ExportFile:
    """One departmental export: in-memory frames (one per sheet) and, once written, its path.

    Frames hold strings exactly as a reader gets them back (XLSX date cells read as
    ``1950-03-05 00:00:00``, Excel serials as ``18327``); missing values are null.
    """

    code: str
    department: str
    title: str
    file_name: str
    format: str
    encoding: str
    frames: dict[str, pl.DataFrame]
    path: Path | None = None

    @property
    def sheets(self) -> list[str] | None:
        return list(self.frames) if self.format == "xlsx" else None

    @property
    def rows(self) -> int:
        return sum(frame.height for frame in self.frames.values())

    @property
    def columns(self) -> list[str]:
        return next(iter(self.frames.values())).columns

    def frame(self) -> pl.DataFrame:
        """All rows; XLSX sheets stacked, with the sheet name in a ``__sheet`` column."""
        if self.format != "xlsx":
            return self.frames[""]
        return pl.concat([f.with_columns(pl.lit(name).alias("__sheet")) for name, f in self.frames.items()])


@dataclass
class ExportSet:
    """The six exports of one seed, the truth of every row and the deliberate conflicts.

    ``truth`` columns: source, sheet (null for CSV), row_number (1-based data row, header
    not counted), person_id (null for people not in the registry), entity, in_registry,
    id_status (see :mod:`linli.demo.export_errors`), errors (comma-separated codes),
    duplicate. ``conflicts``: source, sheet, row_number, person_id, entity, field,
    source_value, registry_value.
    """

    seed: int
    residents: int
    files: dict[str, ExportFile]
    truth: pl.DataFrame
    conflicts: pl.DataFrame
    timings: dict[str, float]
    out_dir: Path | None
    _registry: pl.DataFrame = field(repr=False)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files.values())

    def registry_frame(self) -> pl.DataFrame:
        """The registry's persons as ``demo_seed`` writes them (plaintext identifiers).

        Columns: person_id, entity, name, name_pinyin, name_initials, birth_date, sex,
        id_number, phone, building_key (``<compound>|<building no>``), compound,
        building_no, unit, room, community, grid_code, hukou, is_deceased, disability.
        """
        return self._registry
