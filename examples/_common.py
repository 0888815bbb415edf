"""What the example scripts share: an argument parser that shows the script's
docstring as written, and saving a figure.

It lies beside them, not in the package: `python examples/<name>.py` puts the
script's own folder first on sys.path, so `import _common` finds it from any
working directory, and the examples stay plain scripts."""

import argparse
import json
import os


def script_parser(doc: str) -> argparse.ArgumentParser:
    """The script's argument parser, with its docstring as ``--help`` shows it."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def save(fig, path: str, dpi: int = 100, layout: bool = True) -> None:
    """Writes ``fig`` to ``path`` (laid out first unless ``layout`` is False)
    and closes it."""
    import matplotlib.pyplot as plt

    if layout:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def write_json(directory: str, name: str, result) -> str:
    """Writes ``result`` as ``directory/name`` (indented JSON) and returns the path."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    return path
