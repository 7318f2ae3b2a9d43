"""Normalisers for departmental exports: one pure function per kind of value, and a bulk path.

:mod:`.values` holds the reference functions (one cell in, a value or a reason code out),
:mod:`.address` the address parser, :mod:`.columns` the same rules as Polars expressions
over whole columns (falling back to the reference functions, per distinct value, for the
cells the expressions do not cover) and :mod:`.frame` the bulk entry point
:func:`normalise_frame`. The two paths cannot disagree: tests compare them on generated and
real-world values.
"""

from linli.fusion.normalise.address import Address, building_key, normalise_address
from linli.fusion.normalise.columns import map_distinct
from linli.fusion.normalise.frame import (
    FIELD_DTYPES,
    NormalisedRecord,
    normalise_frame,
    records_from_frame,
)
from linli.fusion.normalise.values import (
    REASONS,
    IdNumberResult,
    NameKeys,
    Parsed,
    cell_text,
    chinese_number,
    clean_text,
    field_kind,
    half_width,
    id_birth_date,
    id_sex,
    local_today,
    name_keys,
    normalise_date,
    normalise_ethnicity,
    normalise_grade,
    normalise_hukou,
    normalise_id_number,
    normalise_int,
    normalise_name,
    normalise_phone,
    normalise_sex,
    normalise_year_month,
    normalise_yes_no,
    reason_message,
    simplified,
)

__all__ = [
    "FIELD_DTYPES",
    "REASONS",
    "Address",
    "IdNumberResult",
    "NameKeys",
    "NormalisedRecord",
    "Parsed",
    "building_key",
    "cell_text",
    "chinese_number",
    "clean_text",
    "field_kind",
    "half_width",
    "id_birth_date",
    "id_sex",
    "local_today",
    "map_distinct",
    "name_keys",
    "normalise_address",
    "normalise_date",
    "normalise_ethnicity",
    "normalise_frame",
    "normalise_grade",
    "normalise_hukou",
    "normalise_id_number",
    "normalise_int",
    "normalise_name",
    "normalise_phone",
    "normalise_sex",
    "normalise_year_month",
    "normalise_yes_no",
    "reason_message",
    "records_from_frame",
    "simplified",
]
