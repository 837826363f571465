"""The review as a PDF: the same HTML document, printed by headless Chromium.

The browser is `TENURE_CHROMIUM` (a path or a command name) when set, else the first of
chromium, chromium-browser and google-chrome on PATH. Chinese needs a CJK font on the machine
(Debian: fonts-noto-cjk). The document has no script and no outside resource, so the print is
the same offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tenure.config import Settings
from tenure.errors import TenureError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 120.0


class PdfRendererMissing(TenureError):
    """No Chromium to print with."""

    code = "pdf_renderer_missing"
    status = 503


class PdfRenderFailed(TenureError):
    """Chromium ran but gave no PDF."""

    code = "pdf_render_failed"
    status = 500


def chromium(settings: Settings | None = None) -> str:
    """The browser binary to print with, or PdfRendererMissing."""
    configured = getattr(settings, "chromium", None) or os.environ.get("TENURE_CHROMIUM")
    if configured:
        found = shutil.which(str(configured))
        if found is None:
            raise PdfRendererMissing(tried=str(configured))
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise PdfRendererMissing(tried=", ".join(CANDIDATES))


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    useful = [line for line in lines if line and "dbus" not in line]
    return (useful or ["no output"])[-1][:300]


def html_to_pdf(
    html: str, settings: Settings | None = None, timeout: float = TIMEOUT_SECONDS
) -> bytes:
    """Print an HTML document to PDF bytes."""
    binary = chromium(settings)
    with tempfile.TemporaryDirectory(prefix="tenure-pdf-") as folder:
        work = Path(folder)
        source, out = work / "review.html", work / "review.pdf"
        source.write_text(html, "utf-8")
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={work / 'profile'}",
            f"--print-to-pdf={out}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfRenderFailed(reason=f"no PDF after {timeout:.0f} s") from None
        except OSError as exc:
            raise PdfRenderFailed(reason=str(exc)) from None
        data = out.read_bytes() if out.is_file() else b""
        if not data.startswith(b"%PDF"):
            raise PdfRenderFailed(reason=f"exit {done.returncode}: {_last_line(done.stderr)}")
        return data
