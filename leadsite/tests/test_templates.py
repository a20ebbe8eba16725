"""Our templates hold no script: what pages run comes from static files, so the site
could be served with a Content-Security-Policy that refuses inline scripts."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""=\s*["']?\s*javascript:""", re.I)


def inline_scripts(text: str) -> list[str]:
    found = [
        body.strip()[:60]
        for attributes, body in SCRIPT.findall(text)
        if body.strip() and not re.search(r"type=[\"']?application/(ld\+)?json", attributes)
    ]
    found += HANDLER.findall(text) + JAVASCRIPT_URL.findall(text)
    return found


def test_the_finder_sees_scripts_handlers_and_javascript_urls():
    assert inline_scripts("<script>\nalert(1)\n</script>")
    assert inline_scripts('<form method="post"\n      onsubmit="return confirm(1)">')
    assert inline_scripts('<a href="javascript:void(0)">')
    assert not inline_scripts('<script src="x.js" defer></script><a href="?on=1" data-confirm="Sure?">')


def test_no_template_holds_an_inline_script_or_handler():
    offenders = {
        str(path.relative_to(TEMPLATES)): found
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (found := inline_scripts(path.read_text(encoding="utf-8")))
    }
    assert not offenders
