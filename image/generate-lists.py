#!/usr/bin/env python3
"""Write the files the image build reads, derived from image/extensions.yaml.

    python image/generate-lists.py          rewrite image/packages-<pg>.txt and image/bootstrap/create-extensions.txt
    python image/generate-lists.py --check  exit 1 when a committed file differs from what it would write

The Docker build cannot import chartgen, so the derived lists are committed; tests/image runs --check.
"""

from __future__ import annotations

import sys
from pathlib import Path

IMAGE = Path(__file__).resolve().parent
sys.path.insert(0, str(IMAGE.parent))

from chartgen import extensions  # noqa: E402
from chartgen.errors import ChartgenError  # noqa: E402


def expected() -> dict[Path, str]:
    catalog = extensions.load_file(IMAGE / "extensions.yaml")
    files = {IMAGE / f"packages-{major}.txt": extensions.package_list_text(major, catalog)
             for major in extensions.SUPPORTED_MAJORS}
    files[IMAGE / "bootstrap" / "create-extensions.txt"] = extensions.create_list_text(catalog)
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    try:
        files = expected()
    except ChartgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stale = []
    for path, text in files.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if check:
            stale.append(path.relative_to(IMAGE.parent))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(IMAGE.parent)}")
    if stale:
        names = ", ".join(str(p) for p in stale)
        print(f"error: {names} out of date with image/extensions.yaml; run python image/generate-lists.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
