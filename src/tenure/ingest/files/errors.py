"""File import errors."""

from __future__ import annotations

from typing import Any

from tenure.errors import BadRequest


class NoFiles(BadRequest):
    """The paths matched no files."""

    code = "import_no_files"


class UnsupportedFormat(BadRequest):
    """A file extension we cannot read."""

    code = "import_unsupported_format"


class UnreadableFile(BadRequest):
    """A file could not be parsed at all."""

    code = "import_unreadable_file"


class BadMapping(BadRequest):
    """A column mapping names an unknown field or a missing column."""

    code = "import_bad_mapping"


class UnknownTimezone(BadRequest):
    """A mapping's time zone is not an IANA zone name."""

    code = "import_unknown_timezone"


class MappingFileUnreadable(BadRequest):
    """A --mapping file that cannot be read, or is not a JSON or TOML mapping."""

    code = "import_mapping_unreadable"


class MappingFileNotSaved(BadRequest):
    """The --save-mapping file cannot be written."""

    code = "import_mapping_not_saved"


class MissingField(BadRequest):
    """A required target field is not mapped to any column."""

    code = "import_missing_field"


class ImportRejected(BadRequest):
    """Rows failed validation; nothing was written."""

    code = "import_rejected"

    def __init__(self, rejected: int, rows: int, sample: list[dict[str, Any]], report: str) -> None:
        first = "; ".join(f"{r['file']}:{r['line']}: {r['reason']}" for r in sample[:5])
        super().__init__(rejected=rejected, rows=rows, first=first, report=report, sample=sample)
