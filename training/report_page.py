"""The HTML page the CX report is assembled into: sections, embedded PNG figures, tables.

Self-contained: figures are matplotlib PNGs in base64 data URIs, no external file or script.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;
padding:.25em .6em;text-align:right}th{background:#f3f3f3}figure{margin:1em 0}
img{max-width:100%}.note{color:#666;font-size:.9em}"""


@dataclass
class Report:
    sections: list[str] = field(default_factory=list)
    figures: int = 0

    def section(self, sid: str, title: str, *parts: str) -> None:
        self.sections.append(
            f'<section id="{sid}"><h2>{html.escape(title)}</h2>{"".join(parts)}</section>'
        )

    def figure(self, fig: Any, alt: str) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        self.figures += 1
        data = base64.b64encode(buf.getvalue()).decode()
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>"
        )


def table(frame: pd.DataFrame, index: bool = False) -> str:
    return frame.to_html(index=index, float_format=lambda v: f"{v:,.2f}", na_rep="–", border=0)


def note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'
