"""Sphinx configuration of the sklosses documentation.

Build (as CI does, warnings as errors, offline)::

    python -m sphinx -W --keep-going -q -b html docs docs/_build/html

The gallery executes every script in ``examples/``.
"""

import os
import re
import sys

# Figures are rendered to files while the examples run: no display needed.
os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib

matplotlib.use("Agg")

# Build the docs of this checkout, also when the package is not installed.
sys.path.insert(0, os.path.abspath(".."))
import sklosses

project = "sklosses"
author = "The sklosses developers"
copyright = "the sklosses developers"
release = sklosses.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"

# The docs build offline: no inventories of other projects, so references to
# scikit-learn or NumPy objects render as plain text instead of links.
intersphinx_mapping = {}

# autodoc / autosummary
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": False}

# numpydoc: members are listed by the class template (_templates/class.rst),
# not by numpydoc, which would also emit stub tables with unresolved entries.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True


def _skip_member(app, what, name, obj, skip, options):
    """Hide the metadata-routing methods scikit-learn generates on estimators.

    ``set_fit_request``, ``set_score_request``... and ``get_metadata_routing``
    are generated per class; their docstrings link to scikit-learn's user
    guide, which this offline build cannot resolve.
    """
    if (name.startswith("set_") and name.endswith("_request")) or (
        name == "get_metadata_routing"
    ):
        return True
    return None


_REF = re.compile(r":ref:`([^`<]*?)\s*(?:<([^`>]*)>)?`")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    """Turn ``:ref:`` roles in docstrings inherited from scikit-learn into text.

    Methods such as ``score`` and ``get_params`` keep scikit-learn's
    docstrings, whose ``:ref:`` targets live in scikit-learn's user guide;
    offline, without intersphinx, they would be undefined labels.
    """
    if not getattr(obj, "__module__", "").startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = _REF.sub(lambda m: m.group(1) or m.group(2), line)


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs)


# sphinx-gallery: run every script of examples/ and collect its figures.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "image_scrapers": ("matplotlib",),
    "doc_module": ("sklosses",),
    "backreferences_dir": os.path.join("generated", "backreferences"),
    "reference_url": {"sklosses": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 1,
}

# HTML
html_theme = "alabaster"
html_static_path = []
html_title = f"sklosses {release}"
html_show_sourcelink = False
