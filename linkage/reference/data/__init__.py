"""Package data: reference CSVs (see docs/reference_data.md)."""
