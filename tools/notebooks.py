"""Rebuild the analyst notebooks from their jupytext sources: ``notebooks/NN_*.py`` -> ``NN_*.ipynb``.

Each notebook is kept twice, paired by jupytext (``formats: ipynb,py:percent`` in the header): the
percent-format ``.py`` is the reviewed source (a diff reads as code), the ``.ipynb`` holds the same cells
plus the outputs of a run on the bundled data, which nbval checks in ``make test``.

    .venv/bin/python tools/notebooks.py               # sync inputs from the .py and execute all six
    .venv/bin/python tools/notebooks.py 03 04         # only the notebooks whose names start so
    .venv/bin/python tools/notebooks.py --no-execute  # sync inputs only, keep the stored outputs

Execution uses nbclient with ``notebooks/`` as the working directory, exactly as nbval runs the notebooks.
Cell ids are rewritten as ``NN-ii`` (notebook number, cell index) so a rebuild diffs cleanly.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"


def sources() -> list[Path]:
    """The jupytext sources of the numbered notebooks."""
    return sorted(NB_DIR.glob("[0-9][0-9]_*.py"))


def synced(source: Path) -> nbformat.NotebookNode:
    """The notebook of ``source``, keeping its ``.ipynb``'s stored outputs where the code is unchanged."""
    notebook = jupytext.read(source)
    paired = source.with_suffix(".ipynb")
    if paired.exists():
        notebook = jupytext.combine.combine_inputs_with_outputs(notebook, nbformat.read(paired, as_version=4))
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{source.name[:2]}-{index:02d}"
    return notebook


def coalesce_streams(notebook: nbformat.NotebookNode) -> None:
    """Join consecutive stdout/stderr chunks of a cell into one output (the kernel splits them at random)."""
    for cell in notebook.cells:
        merged: list = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                output.get("output_type") == "stream"
                and previous is not None
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")
            ):
                previous["text"] = "".join(previous["text"]) + "".join(output["text"])
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged


def execute(notebook: nbformat.NotebookNode, timeout: int = 600) -> None:
    """Run every cell with notebooks/ as the working directory (as nbval does)."""
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}}
    )
    client.execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("only", nargs="*", help="rebuild only notebooks whose names start with these")
    parser.add_argument("--no-execute", action="store_true", help="sync the cells, keep the stored outputs")
    args = parser.parse_args(argv)
    for source in sources():
        if args.only and not any(source.name.startswith(o) for o in args.only):
            continue
        notebook = synced(source)
        target = source.with_suffix(".ipynb")
        if not args.no_execute:
            started = time.time()
            try:
                execute(notebook)
            finally:
                coalesce_streams(notebook)
                nbformat.validate(notebook)
                jupytext.write(notebook, target, fmt="ipynb")  # written on failure too, to debug
            print(f"{source.stem}: executed in {time.time() - started:.1f}s", file=sys.stderr)
        coalesce_streams(notebook)
        nbformat.validate(notebook)
        jupytext.write(notebook, target, fmt="ipynb")
        print(f"wrote {target.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
