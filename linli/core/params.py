"""Bounded integers for API parameters and bodies: one definition, used by every router.

Python integers are unbounded; the database's are not (SQLite and PostgreSQL ``bigint``
stop at 2**63 - 1). An unchecked ``?offset=9223372036854775808`` reached the driver and came
back as a 500. Declared through these types, such a value is refused while parsing, as a 422
naming the field, and the bounds appear in the OpenAPI document for clients and fuzzers.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT64_MAX = 2**63 - 1
# No list here is two billion rows long; offset + limit stays far inside 64 bits.
OFFSET_MAX = 2**31 - 1

# A row id in a path, a query filter or a body.
Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
# A page size: each endpoint still caps it at its own maximum.
Limit = Annotated[int, Field(ge=1, le=INT64_MAX)]
Offset = Annotated[int, Field(ge=0, le=OFFSET_MAX)]
# Versions, levels and other counters.
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
