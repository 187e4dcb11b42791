"""The student edition keeps every exercise and leaks no solution."""

import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from _tools import load_tool

ROOT = Path(__file__).resolve().parent.parent




se = load_tool("student_edition")


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    assert se.main(["--out", str(out)]) == 0
    return out


def _sources():
    return {path.stem: path.read_text() for path in se.chapter_files()}


def test_one_notebook_per_chapter(edition):
    names = sorted(p.stem for p in edition.glob("*.ipynb"))
    assert names == sorted(set(_sources()) - se.TEACHER_PAGES)
    assert (edition / "_checks.py").is_file()


def test_message_counts_the_files_written(tmp_path, capsys):
    # regression: it said "wrote 11 notebooks" (instructors page included)
    # for 10 notebooks and _checks.py
    assert se.main(["--out", str(tmp_path)]) == 0
    notebooks = len(list(tmp_path.glob("*.ipynb")))
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"wrote {notebooks} notebooks and _checks.py to ")
    assert len(list(tmp_path.iterdir())) == notebooks + 1


def test_no_solution_directive_or_text(edition):
    removed = []
    for path in se.chapter_files():
        removed += se.student_notebook(path)[1]
    assert removed, "the chapters have solutions, so some must be removed"
    assert se.find_leaks(edition, removed) == []
    for path in edition.glob("*.ipynb"):
        text = path.read_text()
        assert "{solution" not in text
        assert "solution-start" not in text


def test_every_exercise_is_kept(edition):
    for name, source in _sources().items():
        if name in se.TEACHER_PAGES:
            continue
        wanted = len(re.findall(r"\{exercise(-start)?\}", source))
        notebook = nbformat.read(edition / f"{name}.ipynb", as_version=4)
        text = "\n".join(c.source for c in notebook.cells)
        assert text.count("**Exercise") == wanted, name


def test_notebooks_have_no_outputs(edition):
    for path in edition.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


def test_checkers_copy_has_no_comments(edition):
    text = (edition / "_checks.py").read_text()
    assert not re.search(r"^\s*#", text, flags=re.M)
    compile(text, "_checks.py", "exec")


# ------------------------------------------------ forms of the directive
def test_strip_backtick_and_colon_fences_with_nested_code():
    text = "\n".join([
        "Before.",
        "````{solution} ex-a",
        ":class: dropdown",
        "",
        "The secret is 42.",
        "```python",
        "print(42)",
        "```",
        "````",
        "",
        ":::{solution} ex-b",
        "Also secret.",
        ":::",
        "After.",
    ])
    kept, removed = se.strip_solutions(text)
    assert kept == "Before.\n\nAfter."
    assert len(removed) == 2 and "print(42)" in removed[0]


def test_strip_gated_solution():
    text = "\n".join([
        "Intro.",
        "```{solution-start} ex-a",
        "```",
        "Hidden text.",
        "```{solution-end}",
        "```",
        "Outro.",
    ])
    kept, removed = se.strip_solutions(text)
    assert "Hidden" not in kept and kept.startswith("Intro.")
    assert kept.endswith("Outro.")


def test_cells_tagged_solution_are_dropped(tmp_path):
    source = "\n".join([
        "---",
        "jupytext:",
        "  text_representation:",
        "    extension: .md",
        "    format_name: myst",
        "kernelspec:",
        "  display_name: Python 3",
        "  language: python",
        "  name: python3",
        "---",
        "",
        "# Title",
        "",
        "```{code-cell} ipython3",
        "x = 1",
        "```",
        "",
        "```{code-cell} ipython3",
        ":tags: [solution]",
        "",
        "answer = 41 + 1",
        "```",
    ])
    path = tmp_path / "chapter.md"
    path.write_text(source)
    notebook, removed = se.student_notebook(path)
    text = "\n".join(c.source for c in notebook.cells)
    assert "answer" not in text and "x = 1" in text
    assert removed == ["answer = 41 + 1"]


# ------------------------------------------------- a notebook still runs
def test_a_student_notebook_runs(edition):
    nbclient = pytest.importorskip("nbclient")
    # The shortest chapter with code and an exercise checker.
    path = edition / "hinge_loss.ipynb"
    if not path.is_file():
        pytest.skip("hinge_loss is not a chapter any more")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(edition)}})
    client.execute()
    printed = "".join(
        out.get("text", "") for cell in notebook.cells
        if cell.cell_type == "code" for out in cell.outputs)
    assert "Fill in" in printed  # the empty answer cell asks for answers


# ------------------------------------------ the website of a small book
SMALL_CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# One

```{code-cell} ipython3
print(6 * 7)
```

```{code-cell} ipython3
from myst_nb import glue
glue("product", 6 * 9, display=False)
```

Six times nine is {glue:text}`product`.

````{exercise} Multiply
:label: ex-multiply

What is six times seven?
````

````{solution} ex-multiply
:class: dropdown

Forty-two, as every hitchhiker knows by heart.
````
"""


@pytest.fixture
def small_book(tmp_path):
    """A small book: a chapter with an exercise, its solution and a glued
    number, and a page of Markdown only."""
    pytest.importorskip("jupyter_book")
    book = tmp_path / "book-root"
    (book / "book").mkdir(parents=True)
    (book / "_config.yml").write_text(
        "title: Small\nexecute:\n  execute_notebooks: force\n"
        "sphinx:\n  extra_extensions:\n    - sphinx_exercise\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: book/one\n"
                                   "chapters:\n  - file: book/notes\n")
    (book / "book" / "one.md").write_text(SMALL_CHAPTER)
    # A page without code, with a shell command in it.
    (book / "book" / "notes.md").write_text(
        "# Notes\n\nRun this:\n\n```bash\nls -l\n```\n")
    return book


def _student_site(book, dest, **options):
    """Build the student website of ``book``; check it holds no solution."""
    removed = se.build_html(dest, root=book, **options)
    assert len(removed) == 1
    page = (dest / "book" / "one.html").read_text()
    assert "What is six times seven?" in page
    assert "54</span>." in page  # the glued number
    notes = (dest / "book" / "notes.html").read_text()
    assert "Run this" in notes and "highlight-bash" in notes
    assert se.find_leaks(dest, removed) == []
    return page


def test_student_website_has_no_solution(small_book, tmp_path):
    """Page, page source, notebook download and search index: no answer."""
    _student_site(small_book, tmp_path / "site")


def test_student_website_from_executed_notebooks(small_book, tmp_path):
    """With --executed the outputs come from the full build; nothing runs."""
    subprocess.run(["jupyter-book", "build", str(small_book)], check=True,
                   capture_output=True)
    executed = small_book / "_build" / "jupyter_execute"
    notebook = nbformat.read(executed / "book" / "one.ipynb", as_version=4)
    # Mark the stored output: the page must show it, not a fresh 42.
    notebook.cells[1].outputs[0]["text"] = "stored output\n"
    nbformat.write(notebook, executed / "book" / "one.ipynb")
    page = _student_site(small_book, tmp_path / "site", executed=executed)
    assert "stored output" in page
    assert (tmp_path / "site" / "_sources" / "book" / "one.ipynb").is_file()


def test_a_planted_solution_is_found(tmp_path):
    removed = ["Forty-two, as every hitchhiker knows by heart."]
    (tmp_path / "_sources").mkdir()
    (tmp_path / "_sources" / "one.ipynb").write_text(
        '{"source": ["Forty-two, as every hitchhiker knows by heart."]}')
    (tmp_path / "one.html").write_text('<div class="solution dropdown">')
    assert len(se.find_leaks(tmp_path, removed)) == 2


def test_student_website_leaves_out_teachers_and_the_full_book(small_book,
                                                               tmp_path):
    """No page for teachers, no list item linking to it, and no button
    that opens the full book (whose chapters hold the solutions)."""
    config = small_book / "_config.yml"
    config.write_text(config.read_text() + (
        "repository:\n  url: https://github.com/example/small-book\n"
        "launch_buttons:\n  binderhub_url: https://mybinder.org\n"
        "html:\n  use_repository_button: true\n"))
    toc = small_book / "_toc.yml"
    toc.write_text(toc.read_text() + "  - file: book/instructors\n")
    (small_book / "book" / "instructors.md").write_text(
        "# For instructors\n\nThe answer key lives elsewhere.\n")
    notes = small_book / "book" / "notes.md"
    notes.write_text(notes.read_text() + (
        "\n1. {doc}`one` is the chapter;\n"
        "2. {doc}`instructors` is for teachers,\n"
        "   on two lines.\n3. and this stays.\n"))
    dest = tmp_path / "site"
    _student_site(small_book, dest)
    assert not (dest / "book" / "instructors.html").exists()
    pages = "\n".join(p.read_text() for p in dest.rglob("*.html"))
    assert "For instructors" not in pages and "for teachers" not in pages
    assert "and this stays" in pages
    assert "mybinder.org" not in pages
    assert "example/small-book" not in pages
    # the full build of the same book keeps them
    subprocess.run(["jupyter-book", "build", str(small_book)], check=True,
                   capture_output=True)
    full = (small_book / "_build" / "html" / "book" / "one.html").read_text()
    assert "mybinder.org" in full and "example/small-book" in full


def _markdown(text, **options):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(text)])
    return se.plain_markdown(notebook, **options).cells[0].source


def test_glued_values_are_filled_in_or_located():
    glued = {"steps": {"data": {"text/plain": "'122'"}},
             "phi": {"data": {"text/plain": "0.625"}},
             "table": {"data": {"text/plain": "<Styler>",
                                "text/html": "<table><tr><td>7</td></tr></table>"}}}
    text = ("Within {glue:text}`steps` steps at {glue:text}`phi`.\n\n"
            "```{glue} table\n```\n\nafter")
    assert _markdown(text, glued=glued) == (
        "Within 122 steps at 0.625.\n\n"
        "<table><tr><td>7</td></tr></table>\n\nafter")
    plain = _markdown(text)
    assert "{glue" not in plain and "122" not in plain
    assert "[`steps`, computed in this notebook]" in plain
    assert "The book shows `table` here" in plain


def test_labelled_equations_keep_their_label_and_the_bibliography_is_listed(
        tmp_path):
    (tmp_path / "references.bib").write_text(
        "@article{doe2020, author = {Jane Doe and Ren{\\'e} Roe}, "
        "title = {{Packing} spheres}, journal = {Phys. Rev. E}, year = {2020}}\n")
    text = ("As {eq}`eq-one` says {cite:p}`doe2020`,\n\n$$\nx = 1\n$$ (eq-one)\n\n"
            "$$\ny = 2\n$$\n\n```{bibliography}\n```\n")
    plain = _markdown(text, references=se._references(tmp_path))
    assert "As (eq-one) says [doe2020]" in plain
    assert "$$\nx = 1\n\\tag{\\text{eq-one}}$$" in plain
    assert "$$\ny = 2\n$$" in plain  # an unlabelled one stays as it was
    assert ("- [doe2020] Jane Doe, René Roe, *Packing spheres*, Phys. Rev. E, "
            "2020.") in plain
    assert "{bibliography}" not in plain


def test_links_to_teacher_pages_leave_the_notebooks_too(edition):
    intro = nbformat.read(edition / "intro.ipynb", as_version=4)
    text = "\n".join(c.source for c in intro.cells)
    assert "instructors" not in text.replace("for instructors", "")
    kept = se._without_teacher_links(
        "1. {doc}`one` stays;\n2. {doc}`instructors` goes,\n   both lines.\n"
        "3. and so does this.", "x.md")
    assert kept == "1. {doc}`one` stays;\n3. and so does this."
    with pytest.raises(ValueError, match="outside a list item"):
        se._without_teacher_links("See {doc}`instructors`.", "x.md")
