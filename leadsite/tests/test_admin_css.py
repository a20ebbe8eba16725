"""The status badges of static/leadsite/admin.css are readable: each status's text on
its background reaches WCAG 2's AA contrast for text (4.5:1), in the light theme and
in the dark one (the system's, or the admin's theme toggle), read from the CSS itself
so that a colour changed there is checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from leads.models import LeadStatus

CSS = Path(settings.BASE_DIR) / "static" / "leadsite" / "admin.css"
AA_TEXT = 4.5
DARK_MEDIA = re.compile(r"prefers-color-scheme\s*:\s*dark")
DARK_THEME = re.compile(r"""\[data-theme=["']?dark["']?\]""")
LIGHT_THEME = re.compile(r"""\[data-theme=["']?light["']?\]""")


def css_rules(text: str, media: str = "") -> list[tuple[str, str, dict[str, str]]]:
    """(media condition, selector, declarations) of each rule, in source order."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    rules, position = [], 0
    while (opening := text.find("{", position)) != -1:
        prelude = text[position:opening].strip()
        if prelude.startswith("@"):
            depth, end = 1, opening + 1
            while depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            rules += css_rules(text[opening + 1 : end - 1], f"{media} {prelude}".strip())
            position = end
        else:
            closing = text.index("}", opening)
            declarations = {}
            for declaration in text[opening + 1 : closing].split(";"):
                if ":" in declaration:
                    name, value = declaration.split(":", 1)
                    declarations[name.strip().lower()] = value.strip()
            for selector in prelude.split(","):
                rules.append((media, " ".join(selector.split()), declarations))
            position = closing + 1
    return rules


def colour(value: str) -> tuple[float, float, float]:
    """The first colour of a value (``background`` may hold more), as sRGB 0–1."""
    if match := re.search(r"#([0-9a-f]{6}|[0-9a-f]{3})\b", value, re.I):
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return tuple(int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    if match := re.search(r"rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)", value):
        return tuple(int(part) / 255 for part in match.groups())
    if value.strip().lower() in ("white", "black"):
        return (1.0,) * 3 if value.strip().lower() == "white" else (0.0,) * 3
    raise AssertionError(f"this test cannot read the colour {value!r}: write it as #rrggbb")


def luminance(rgb: tuple[float, float, float]) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    lighter, darker = sorted([luminance(a), luminance(b)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def applies(media: str, selector: str, theme: str) -> bool:
    # Django's dark rules read ":root:not([data-theme=light])": a theme named inside
    # :not() is the one the rule is not for.
    selector = re.sub(r":not\([^)]*\)", "", selector)
    dark = bool(DARK_MEDIA.search(media) or DARK_THEME.search(selector))
    if theme == "light":
        return not dark
    return not LIGHT_THEME.search(selector)


def badge_colours(rules, status: str, theme: str) -> tuple[str | None, str | None]:
    """The text colour and background a status's badge gets in a theme: the last rule
    that sets each wins, as the cascade has it for selectors of equal weight."""
    own = rf"\.lead-status-{re.escape(status)}"
    badge = re.compile(rf"\.lead-status|{own}|\.lead-status{own}")
    text = background = None
    for media, selector, declarations in rules:
        last_compound = selector.split(" ")[-1]
        if not badge.fullmatch(last_compound) or not applies(media, selector, theme):
            continue
        text = declarations.get("color", text)
        background = declarations.get("background-color", declarations.get("background", background))
    return text, background


def test_the_reader_finds_colours_in_media_blocks_and_theme_selectors():
    rules = css_rules(
        ".lead-status { color: #fff; }\n.lead-status-created { background: #000 url(x.png); }\n"
        "@media (prefers-color-scheme: dark) { :root:not([data-theme=light]) .lead-status-created { background: #333; } }\n"
        'html[data-theme="dark"] .lead-status-created { color: #eee }'
    )
    assert badge_colours(rules, "created", "light") == ("#fff", "#000 url(x.png)")
    assert badge_colours(rules, "created", "dark") == ("#eee", "#333")
    assert round(contrast(colour("#fff"), colour("#d97706")), 2) == 3.19  # the Rescheduled badge's old colours


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_status_badge_reaches_aa_contrast(theme):
    rules = css_rules(CSS.read_text(encoding="utf-8"))
    ratios, missing = {}, []
    for status in LeadStatus.values:
        text, background = badge_colours(rules, status, theme)
        if text is None or background is None:
            missing.append(status)
        else:
            ratios[status] = round(contrast(colour(text), colour(background)), 2)
    assert not missing, f"statuses without a badge colour in {CSS.name}: {missing}"
    below = {status: ratio for status, ratio in ratios.items() if ratio < AA_TEXT}
    assert not below, f"{theme} badges under {AA_TEXT}:1 (all: {ratios})"
