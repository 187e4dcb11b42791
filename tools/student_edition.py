"""Write the student edition of the book: every exercise, no solution.

    python tools/student_edition.py            # notebooks into student/
    python tools/student_edition.py --html     # and a website, _build/student
    python tools/student_edition.py --html --executed _build/jupyter_execute

The notebooks are plain ``.ipynb`` files without outputs, one per chapter of
``_toc.yml``, next to a copy of the answer checkers (``_checks.py``). Open
them from the ``student`` folder of a checkout (or of a Binder session): the
chapters find the package and the data files in the folders above.

Removed: every ``{solution}`` directive (also the ``solution-start`` /
``solution-end`` form) and every cell tagged ``solution`` or
``remove-student``. Exercises stay. In the notebooks, MyST markup that plain
Jupyter shows as raw text (exercise, admonition, glue and bibliography
directives, citation, glue and cross-reference roles) is turned into
ordinary Markdown, labelled equations keep their label as a tag, and
comments are removed from the copy of the checkers. The HTML edition keeps
MyST and is built with the same command and settings as the full book,
from a copy of the sources with the solutions removed, so page sources,
downloads and the search index hold no solution either. It leaves out the
pages for teachers and every button that leads to the full book (launch,
repository, issues), whose chapters hold the solutions.

With ``--executed`` (the ``_build/jupyter_execute`` folder of a full build
of the book) the numbers, tables and figures that the chapters glue into
their text are filled into the notebooks' text; without it the text says
where the notebook computes them. The website is then built from those
executed notebooks instead of running every chapter again: each chapter
becomes its executed notebook with the solutions removed, and execution is
switched off in the copy. The
chapters' code cells are the same in both editions (solutions are Markdown),
so the outputs are those the student edition would compute; page sources and
downloads are then ``.ipynb`` files.

After writing, the tool checks its output: no solution directive, and no
line of any solution, in any text file of it (pages, page sources,
downloads, search index). A leak is an error.
"""

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tokenize
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
STUDENT_TAGS = {"solution", "remove-student"}
# Pages for teachers, left out of the student notebooks.
TEACHER_PAGES = {"instructors"}

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}"
                   r"(?P<arg>[^\n]*)$")


# --------------------------------------------------------------- chapters
def chapter_files(root=ROOT):
    """The source files listed in _toc.yml, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    names.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    files = []
    for name in names:
        for suffix in (".md", ".ipynb"):
            path = root / f"{name}{suffix}"
            if path.is_file():
                files.append(path)
                break
        else:
            raise FileNotFoundError(f"{name} from _toc.yml not found")
    return files


# ------------------------------------------------------- removing answers
def _blocks(lines):
    """Yield (start, end, name, arg, indent) of top-level directive blocks."""
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence = match["fence"]
        closing = re.compile(
            rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        yield i, min(j, len(lines) - 1), match["name"], match["arg"].strip(), \
            match["indent"]
        i = j + 1


def strip_solutions(text):
    """Markdown text without its solution directives, and what was cut."""
    lines = text.split("\n")
    keep = [True] * len(lines)
    removed = []
    gated_start = None
    for start, end, name, _arg, _indent in _blocks(lines):
        if name == "solution":
            span = range(start, end + 1)
        elif name == "solution-start":
            gated_start = start
            continue
        elif name == "solution-end" and gated_start is not None:
            span = range(gated_start, end + 1)
            gated_start = None
        else:
            continue
        for k in span:
            keep[k] = False
        removed.append("\n".join(lines[k] for k in span))
    if gated_start is not None:  # a start without an end: drop the rest
        removed.append("\n".join(lines[gated_start:]))
        for k in range(gated_start, len(lines)):
            keep[k] = False
    kept = "\n".join(line for line, k in zip(lines, keep) if k)
    return re.sub(r"\n{3,}", "\n\n", kept).strip("\n"), removed


def student_notebook(path):
    """The chapter (a path, or a notebook already read) as a notebook with
    no solutions; also the removed text."""
    notebook = path if isinstance(path, nbformat.NotebookNode) else \
        jupytext.read(path)
    cells, removed = [], []
    for cell in notebook.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & STUDENT_TAGS:
            removed.append(cell.source)
            continue
        if cell.cell_type == "markdown":
            cell.source, cut = strip_solutions(cell.source)
            removed += cut
            if not cell.source.strip():
                continue
        cells.append(cell)
    notebook.cells = cells
    return notebook, removed


# ------------------------------------------------- plain Jupyter Markdown
ADMONITIONS = {"note", "tip", "warning", "important", "caution", "attention",
               "hint", "seealso", "admonition", "danger", "error"}


def _plain_directives(text, glued=None, references=None):
    """Exercise and admonition directives as ordinary Markdown; a glued
    output as its value (see :func:`_glued`), the bibliography as a list."""
    lines = text.split("\n")
    out, last = [], 0
    for start, end, name, arg, _indent in _blocks(lines):
        if name.startswith("glue") or name == "bibliography":
            out += lines[last:start]
            if name == "bibliography":
                out += references or []
            else:
                out += _glue_block(arg, glued or {}).split("\n")
            last = end + 1
            continue
        if name != "exercise" and name not in ADMONITIONS:
            continue
        out += lines[last:start]
        body = [line for line in lines[start + 1:end]
                if not re.match(r"^:[\w-]+:", line)]
        while body and not body[0].strip():
            body.pop(0)
        if name == "exercise":
            title = f"**Exercise: {arg}**" if arg else "**Exercise**"
        else:
            title = f"**{arg or name.capitalize()}**"
        out += [f"> {title}", ">"]
        out += [f"> {line}" if line else ">" for line in
                _plain_directives("\n".join(body), glued,
                                  references).split("\n")]
        last = end + 1
    out += lines[last:]
    return "\n".join(out)


def _glued(executed, chapter, root):
    """The values a chapter glues, from the executed notebooks of a full
    build (name -> output), or {} without them."""
    if executed is None:
        return {}
    path = (Path(executed) / chapter.relative_to(root)).with_suffix(".glue.json")
    return json.loads(path.read_text()) if path.is_file() else {}


def _glue_text(name, glued):
    """An inline glued value as the book prints it, or where to find it."""
    text = glued.get(name, {}).get("data", {}).get("text/plain")
    if text is None:
        return f"[`{name}`, computed in this notebook]"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]  # a glued string, shown without its quotes
    return text


def _glue_block(name, glued):
    """A glued table or figure: its HTML or picture, or where to find it."""
    data = glued.get(name, {}).get("data", {})
    html = data.get("text/html")
    if html is not None:
        return "".join(html) if isinstance(html, list) else html
    if "image/png" in data:
        return f"![{name}](data:image/png;base64,{data['image/png']})"
    return f"*(The book shows `{name}` here; this notebook computes it.)*"


def _references(root):
    """The bibliography as Markdown list items, by citation key."""
    bib = root / "references.bib"
    if not bib.is_file():
        return []
    import codecs

    import latexcodec  # noqa: F401  (registers the "ulatex" codec)
    from pybtex.database import parse_file

    def plain(text):  # LaTeX accents as letters, no grouping braces
        return codecs.decode(text, "ulatex").replace("{", "").replace("}", "")

    items = []
    for key, entry in sorted(parse_file(str(bib)).entries.items()):
        people = entry.persons.get("author", [])
        authors = ", ".join(" ".join(p.first_names + p.last_names)
                            for p in people)
        fields = entry.fields
        where = fields.get("journal") or fields.get("booktitle") or \
            fields.get("publisher") or fields.get("eprint", "")
        parts = [plain(p) for p in (authors, f"*{fields.get('title', '')}*",
                                    where, fields.get("year", "")) if p]
        items.append(f"- [{key}] " + ", ".join(parts) + ".")
    return items


def _plain_roles(text, glued=None):
    text = re.sub(r"\{glue(?::text)?\}`([^`]*)`",
                  lambda m: _glue_text(m[1], glued or {}), text)
    text = re.sub(r"\{cite:t\}`([^`]*)`", lambda m: m[1].replace(",", ", "),
                  text)
    text = re.sub(r"\{cite(?::p)?\}`([^`]*)`",
                  lambda m: f"[{m[1].replace(',', ', ')}]", text)
    text = re.sub(r"\{eq\}`([^`]*)`", r"(\1)", text)
    text = re.sub(r"\{(?:doc|ref|numref)\}`(?:[^`<]*<)?([^`>]*)>?`", r"*\1*",
                  text)
    # a labelled equation keeps its label as a tag, the text of its references
    text = re.sub(r"\$\$((?:(?!\$\$).)*?)\$\$[ \t]*\((eq-[\w-]+)\)",
                  r"$$\1\\tag{\\text{\2}}$$", text, flags=re.S)
    return text


def plain_markdown(notebook, glued=None, references=None):
    """MyST markup that plain Jupyter shows as raw text, as Markdown."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = _plain_roles(
                _plain_directives(cell.source, glued, references), glued)
    return notebook


def without_comments(source):
    """Python source with its comments removed (the code stays)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type != tokenize.COMMENT]
    text = tokenize.untokenize(tokens)
    return "\n".join(line.rstrip() for line in text.split("\n"))


# ------------------------------------------------------------------ output
def write_notebooks(out, root=ROOT, executed=None):
    """Write student notebooks into ``out``; with ``executed`` (the executed
    notebooks of a full build), glued numbers appear in the text.

    Returns the removed texts and the names of the files written (the
    notebooks, then ``_checks.py`` when the book has one).
    """
    out.mkdir(parents=True, exist_ok=True)
    removed, written = [], []
    references = _references(root)
    for path in chapter_files(root):
        if path.stem in TEACHER_PAGES:
            continue
        notebook, cut = student_notebook(path)
        removed += cut
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = _without_teacher_links(cell.source, path.name)
        notebook = plain_markdown(notebook, _glued(executed, path, root),
                                  references)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("jupytext", None)
        nbformat.validate(notebook)
        nbformat.write(notebook, out / f"{path.stem}.ipynb")
        written.append(f"{path.stem}.ipynb")
    checks = root / "book" / "_checks.py"
    if checks.is_file():
        (out / "_checks.py").write_text(without_comments(checks.read_text()))
        written.append("_checks.py")
    return removed, written


def _solution_lines(removed):
    """Distinctive lines of the removed solutions, to look for in output."""
    lines = set()
    for text in removed:
        for line in text.split("\n"):
            line = line.strip()
            if len(line) >= 25 and not FENCE.match(line) and \
                    not line.startswith(":"):
                lines.add(line)
    return lines


def find_leaks(folder, removed):
    """Files under ``folder`` that hold a solution directive or line."""
    needles = _solution_lines(removed)
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and fonts
        if re.search(r"\{solution(-start|-end)?\}", text) or \
                'class="solution' in text or "solution-title" in text:
            leaks.append(f"{path}: solution directive or block")
            continue
        for needle in needles:
            # In notebooks and search indexes text is JSON-escaped.
            if needle in text or needle.replace("\\", "\\\\") in text:
                leaks.append(f"{path}: {needle[:60]!r}")
                break
    return leaks


def _is_notebook(path):
    """Whether a chapter is a notebook (not a page of Markdown only)."""
    return path.suffix == ".ipynb" or "kernelspec" in jupytext.read(
        path, fmt="md:myst").metadata


def _executed_notebook(path, copy, executed):
    """The chapter ``path`` of ``copy`` as run by a full build, outputs and
    glued values included."""
    relative = path.relative_to(copy).with_suffix(".ipynb")
    if not (executed / relative).is_file():
        raise FileNotFoundError(f"{relative} not executed in {executed}; "
                                "build the whole book first")
    notebook = nbformat.read(executed / relative, as_version=4)
    # The build moves the hidden glued outputs into a file of their own,
    # without the prefix that hides them; hidden again, they go back into
    # the first code cell, from where the page build takes them.
    glue = (executed / relative).with_suffix(".glue.json")
    if glue.is_file():
        codes = [c for c in notebook.cells if c.cell_type == "code"]
        kept = {o.get("metadata", {}).get("scrapbook", {}).get("name")
                for cell in codes for o in cell.outputs}
        for name, output in json.loads(glue.read_text()).items():
            if name in kept:
                continue  # a glued output shown in its cell stays there
            prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
            output["data"] = {prefix + k: v for k, v in output["data"].items()}
            codes[0].outputs.append(nbformat.from_dict(output))
    return notebook


def _edit_config(copy, execute):
    """The site's settings: no button that leads to the full book (launch,
    repository, issues: the chapters there hold their solutions); with
    ``execute`` false, no chapter runs."""
    config_path = copy / "_config.yml"
    config = yaml.safe_load(config_path.read_text())
    config.setdefault("html", {}).update(use_repository_button=False,
                                         use_issues_button=False,
                                         use_edit_page_button=False)
    config.pop("launch_buttons", None)
    if not execute:
        config.setdefault("execute", {})["execute_notebooks"] = "off"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def _drop_teacher_pages(copy):
    """Take the pages for teachers out of the site: out of the table of
    contents, their files, and the list items that link to them."""
    teachers = [p for p in chapter_files(copy) if p.stem in TEACHER_PAGES]
    if not teachers:
        return
    toc_path = copy / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text())

    def kept(entries):
        return [e for e in entries
                if Path(str(e.get("file", ""))).stem not in TEACHER_PAGES]

    if "chapters" in toc:
        toc["chapters"] = kept(toc["chapters"])
    if "parts" in toc:
        for part in toc["parts"]:
            part["chapters"] = kept(part.get("chapters", []))
        toc["parts"] = [part for part in toc["parts"] if part["chapters"]]
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False))
    for path in teachers:
        path.unlink()
    for path in chapter_files(copy):
        text = path.read_text()
        new = _without_teacher_links(text, path.name)
        if new != text:
            path.write_text(new)


_TEACHER_LINK = (r"\{doc\}`(?:[^`<]*<)?(?:[\w./]*/)?(?:"
                 + "|".join(re.escape(name) for name in sorted(TEACHER_PAGES))
                 + ")>?`")
_TEACHER_ITEM = re.compile(rf"^[ \t]*(?:\d+\.|[-*+])[ \t][^\n]*{_TEACHER_LINK}"
                           rf"[^\n]*\n(?:[ \t]+\S[^\n]*\n)*", re.M)


def _without_teacher_links(text, where):
    """``text`` without the list items that link to a page for teachers;
    a ValueError for such a link anywhere else."""
    new = _TEACHER_ITEM.sub("", text if text.endswith("\n") else text + "\n")
    if not text.endswith("\n"):
        new = new[:-1]
    if re.search(_TEACHER_LINK, new):
        raise ValueError(f"{where} links to a page for teachers outside a "
                         "list item; the student edition cannot leave it out")
    return new


def build_html(dest, root=ROOT, executed=None):
    """Build the student website into ``dest``; return the removed texts.

    With ``executed``, the folder of executed notebooks of a full build,
    each chapter is taken from there with its outputs and nothing runs.
    """
    removed = []
    with tempfile.TemporaryDirectory(prefix="student-book-") as tmp:
        copy = Path(tmp) / "book-src"
        ignore = shutil.ignore_patterns(
            "_build", "student", ".git", "__pycache__", "*.egg-info",
            ".pytest_cache", ".hypothesis", "build", "dist", "bench-results")
        shutil.copytree(root, copy, ignore=ignore)
        _drop_teacher_pages(copy)
        _edit_config(copy, execute=executed is None)
        for path in chapter_files(copy):
            if not _is_notebook(path):
                text, cut = strip_solutions(path.read_text())
                removed += cut
                path.write_text(text + "\n")
                continue
            notebook = path
            if executed is not None:
                notebook = _executed_notebook(path, copy, Path(executed))
            notebook, cut = student_notebook(notebook)
            removed += cut
            if executed is not None or path.suffix == ".ipynb":
                path.unlink()
                nbformat.write(notebook, path.with_suffix(".ipynb"))
            else:
                jupytext.write(notebook, path, fmt="md:myst")
        command = ["jupyter-book", "build", str(copy), "--all",
                   "--warningiserror", "--nitpick", "--keep-going"]
        # the build's log, with the temporary folder's site named as where
        # it will be copied
        built = str(copy / "_build" / "html")
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                              bufsize=1) as build:
            for line in build.stdout:
                print(line.replace(built, str(dest)), end="", flush=True)
        if build.returncode:
            raise subprocess.CalledProcessError(build.returncode, command)
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(copy / "_build" / "html", dest)
    return removed


def _files_written(written):
    """'10 notebooks and _checks.py': what ``write_notebooks`` wrote."""
    notebooks = sum(name.endswith(".ipynb") for name in written)
    text = f"{notebooks} notebook{'' if notebooks == 1 else 's'}"
    others = [name for name in written if not name.endswith(".ipynb")]
    return " and ".join([text, *others])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student",
                        help="folder for the notebooks (default: student/)")
    parser.add_argument("--html", action="store_true",
                        help="also build the student website")
    parser.add_argument("--html-out", type=Path,
                        default=ROOT / "_build" / "student",
                        help="folder for the website (default: _build/student)")
    parser.add_argument("--executed", type=Path, default=None,
                        help="the executed notebooks of a full build (such as "
                             "_build/jupyter_execute): their glued numbers go "
                             "into the notebooks' text, and with --html the "
                             "website is built from them, running nothing")
    args = parser.parse_args(argv)
    removed, written = write_notebooks(args.out, executed=args.executed)
    print(f"wrote {_files_written(written)} to {args.out} "
          f"({len(removed)} solutions removed)")
    leaks = find_leaks(args.out, removed)
    if args.html:
        removed_html = build_html(args.html_out, executed=args.executed)
        print(f"built the student website in {args.html_out}")
        if not removed_html:
            print("no solution removed from the website's chapters",
                  file=sys.stderr)
            return 1
        leaks += find_leaks(args.html_out, removed + removed_html)
    if leaks:
        print("solutions leaked into the student edition:", *leaks,
              sep="\n  ", file=sys.stderr)
        return 1
    print("checked: no solution in the student edition")
    return 0


if __name__ == "__main__":
    sys.exit(main())
