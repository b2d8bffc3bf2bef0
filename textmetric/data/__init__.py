"""Reading and validating training / evaluation data."""

from textmetric.data.formats import (
    FORMATS,
    PairData,
    detect_pair_format,
    load_pairs,
    parse_number,
    validate_table,
)
from textmetric.data.readers import Table, read_table

__all__ = [
    "FORMATS",
    "PairData",
    "Table",
    "detect_pair_format",
    "load_pairs",
    "parse_number",
    "read_table",
    "validate_table",
]
