"""Charts as PNG, drawn in a short-lived child process so the bot never loads matplotlib.

matplotlib with numpy costs tens of megabytes that a long-running process keeps once
imported (freed memory rarely goes back to the system). The bot instead runs
`python -m core.charts`: it reads a JSON spec on stdin (every text already translated
and formatted), writes the PNG on stdout and exits, so its memory goes with it.
`render()` is the bot's side: one child at a time, killed after `timeout` seconds.

The spec: {"title": str, "x_label": str, "x_ticks": [str, ...], "panels": [{"y_label":
str, "percent": bool, "y_tick_labels": [[number, str], ...] (optional: a percent panel's
ticks in the viewer's number format), "series": [{"label": str, "kind": "line" | "bar",
"values": [number or null, ...]}]}]}: one panel per row, all sharing the x axis (one
value per tick; null is a gap).

The font is DejaVu Sans, shipped with matplotlib: it has the Kazakh letters (ә ғ қ ң ө ұ
ү һ і), so the chart never depends on the fonts of the server.

This module imports nothing of the project and nothing heavy at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WORKER_ARGS = ("-m", "core.charts")  # how the bot starts the child (tests may swap it)
MAX_PNG_BYTES = 5_000_000


class ChartError(Exception):
    """The chart could not be drawn (the child failed, timed out or wrote no PNG)."""


# The folder that holds `core`: the child runs there, so `python -m core.charts` finds this
# very module (not one in the bot's working directory).
ROOT = Path(__file__).resolve().parent.parent


def _child_env(config_dir: Path | None) -> dict[str, str]:
    """What the child needs, and nothing else of the bot's environment (its token)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if config_dir is not None:  # matplotlib's font cache: built once, not at every chart
        env["MPLCONFIGDIR"] = str(config_dir)
    return env


class ChartRenderer:
    """Runs the child, at most `concurrency` at a time (each holds matplotlib's memory)."""

    def __init__(
        self, *, timeout: float = 60.0, config_dir: Path | None = None, concurrency: int = 1
    ) -> None:
        self.timeout = timeout
        self.config_dir = config_dir
        self._slots = asyncio.Semaphore(concurrency)

    async def render(self, spec: dict[str, Any]) -> bytes:
        data = json.dumps(spec, ensure_ascii=False).encode()
        async with self._slots:
            if self.config_dir is not None:
                with contextlib.suppress(OSError):  # without it, matplotlib uses a temporary one
                    self.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    *WORKER_ARGS,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                    env=_child_env(self.config_dir),
                    cwd=ROOT,
                )
            except OSError as exc:  # no memory or processes left for a child, say
                raise ChartError(f"cannot start the chart process: {exc.strerror}") from None
            try:
                out, _ = await asyncio.wait_for(process.communicate(data), self.timeout)
            except TimeoutError:
                raise ChartError(f"no chart within {self.timeout:g} s") from None
            finally:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        if process.returncode != 0:
            raise ChartError(f"the chart process exited with status {process.returncode}")
        if not out.startswith(PNG_MAGIC) or len(out) > MAX_PNG_BYTES:
            raise ChartError("the chart process wrote no PNG")
        return out


# -- the child ---------------------------------------------------------------------------------

COLOURS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5")


def draw(spec: dict[str, Any]) -> bytes:
    """The PNG for `spec` (in the child: imports matplotlib)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    ticks = [str(t) for t in spec["x_ticks"]]
    panels = spec["panels"]
    positions = list(range(len(ticks)))
    figure = Figure(figsize=(8, 1.2 + 2.6 * len(panels)), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    figure.suptitle(str(spec["title"]), fontsize=14, fontweight="bold")
    for ax, panel in zip(axes, panels, strict=True):
        series = panel["series"]
        bars = [s for s in series if s.get("kind") == "bar"]
        width = 0.8 / max(len(bars), 1)
        colour = iter(COLOURS)
        for s in series:
            values = [float("nan") if v is None else float(v) for v in s["values"]]
            if s.get("kind") == "bar":
                shift = (bars.index(s) - (len(bars) - 1) / 2) * width
                ax.bar(
                    [x + shift for x in positions],
                    [0 if v != v else v for v in values],  # NaN != NaN: no bar
                    width=width,
                    label=str(s["label"]),
                    color=next(colour),
                )
            else:
                ax.plot(positions, values, marker="o", label=str(s["label"]), color=next(colour))
        ax.set_ylabel(str(panel["y_label"]))
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
        if panel.get("percent"):
            ax.set_ylim(0, 105)
            labels = panel.get("y_tick_labels")  # [[value, "85 %"], ...]: the viewer's format
            if labels:
                ax.set_yticks([float(v) for v, _ in labels], [str(t) for _, t in labels])
            else:
                ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0, 1),
            ncols=len(series),
            fontsize=9,
            frameon=False,
            borderaxespad=0.2,
        )
        ax.spines[["top", "right"]].set_visible(False)
    last = axes[-1]
    last.set_xticks(positions, ticks, rotation=45, ha="right", fontsize=9)
    last.set_xlabel(str(spec["x_label"]))
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["font.family"] = "DejaVu Sans"
    spec = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    sys.stdout.buffer.write(draw(spec))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
