"""A pseudo-language that shows which words on a page were never marked for translation.

Every message of server/locale/messages.pot is "translated" to itself between two markers
(⟦Sign in⟧), its plural forms too and its %(name)s values kept, and compiled under the code of
a language Cairn knows. A Cairn serving it (tests/fixtures/serve.py, CAIRN_TEST_LOCALE_DIR)
draws every translated word between the markers; whatever a reader sees outside them was never
translated, unless a member wrote it (`data-member-words`) or it is a date or time (`<time>`).
`unmarked(page)` lists those words on a page in a real browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server import i18n
from server.config import ROOT

OPEN, CLOSE = "⟦", "⟧"
TEMPLATE = ROOT / "server" / "locale" / "messages.pot"
# A language Cairn knows, so its Babel locale data (plural forms, dates) is there; the pseudo
# catalogue stands in for its real one.
CODE = "es"


def marked(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


def pseudo_catalogue(template: Path = TEMPLATE, code: str = CODE) -> Catalog:
    with template.open("rb") as f:
        messages = read_po(f)
    pseudo = Catalog(locale=code, domain=i18n.DOMAIN)
    for message in messages:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            singular, plural = message.id[0], message.id[1]
            # The language's first form is the singular; every other form reads as the plural.
            string: str | tuple[str, ...] = tuple(
                marked(singular if n == 0 else plural) for n in range(pseudo.num_plurals))
        else:
            string = marked(message.id)
        pseudo.add(message.id, string, context=message.context, flags=message.flags - {"fuzzy"})
    return pseudo


def write_pseudo_language(directory: Path, code: str = CODE) -> Path:
    """The pseudo catalogue compiled under `directory` as `code`'s, where server.i18n reads
    catalogues when directed to `directory`; its path."""
    path = i18n.catalogue_path(code, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_mo(f, pseudo_catalogue(code=code))
    return path


def either(english: str) -> re.Pattern[str]:
    """An accessible name or text as it reads in English or in the pseudo-language: a test
    can find a button or a label before and after it is translated."""
    return re.compile(rf"^\s*{re.escape(OPEN)}?{re.escape(english)}{re.escape(CLOSE)}?\s*$")


# What a reader sees outside the markers. Every visible text node is read in the document's
# order; a message may hold markup (a link inside a sentence), so a marker opened in one text
# node may close in a later one, within the same block (the count starts afresh in each block,
# so a marker never left open can hide the rest of the page). Read as well: what assistive
# technology says for an element (aria-label, title, alt), a field's placeholder, an input
# button's value, every option of a visible <select> (a long list summed up: the first six and
# how many) and the document's title, and the words
# the page's scripts say (the #live-words block), which show only at some moments.
_UNMARKED_JS = r"""
([OPEN, CLOSE, data]) => {
  // Exempt: Cairn's name, which is the same in every language.
  const EXEMPT = /\bCairn\b/g;
  // Letters (of any script) make words; digits, punctuation and symbols ("·", "×", "3", "0:42")
  // read the same in every language, so they are not words to translate.
  const wordy = (text) => /\p{L}/u.test(text.replace(EXEMPT, ""));
  const tidy = (text) => text.replace(/\s+/g, " ").trim();
  const outside = (text, depth) => {
    let out = "";
    for (const ch of text) {
      if (ch === OPEN) { depth += 1; out += " "; }
      else if (ch === CLOSE) { depth = Math.max(0, depth - 1); out += " "; }
      else if (depth === 0) out += ch;
    }
    return [out, depth];
  };
  // Not read: what is never shown, and a field's contents (what the member types in it).
  const NOT_SHOWN = "script, style, noscript, template, head, textarea";
  // Not messages: what members wrote; dates and times (said by the language's own formats);
  // the codes people copy or type (recovery, reset and invite codes, in <code>), which are
  // letters and digits, not words; and what the page says is not to be translated (HTML's
  // translate="no": a crisis line's own name) or is set in a language of its own (an element
  // with a lang of its own: the language switch names each language in itself).
  const THEIRS = '[data-member-words], time, code, [translate="no"], body [lang]';
  // The language's own words that no catalogue holds, not reported: Cairn's data written for
  // it (its scenario cards, its crisis lines) and its names of months and weekdays (dates
  // said by its formats where no <time> can hold them: an <option>, a chart's label).
  // Also not reported in the title and in attributes, which cannot mark them: what members
  // wrote, as the page marks it elsewhere (a group's name).
  const DATA = data.filter((text) => wordy(text)).sort((a, b) => b.length - a.length);
  const theirs = [...document.querySelectorAll("[data-member-words]")]
    .map((el) => tidy(el.textContent)).filter(wordy).sort((a, b) => b.length - a.length);
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // Whole words only: "mar" (Tuesday) is not taken out of "marked".
  const word = (part) => new RegExp(`(^|\\P{L})${escape(part)}(?=$|\\P{L})`, "gu");
  const wordList = (known) => ({known, patterns: known.map(word)});
  const without = (text, {known, patterns}) => {
    const trimmed = tidy(text);
    if (!trimmed || !wordy(trimmed)) return "";
    const alone = new RegExp(word(trimmed).source, "u");
    if (known.some((d) => d.includes(trimmed) && alone.test(d))) return "";
    let left = text;
    for (const pattern of patterns) left = left.replace(pattern, "$1 ");
    return left;
  };
  const DATA_WORDS = wordList(DATA), THEIR_WORDS = wordList(theirs);
  const notData = (text) => without(text, DATA_WORDS);
  const shown = (el) => {
    const select = el.closest("select");
    return (select || el).checkVisibility({visibilityProperty: true});
  };
  // A message may hold phrasing markup (a link, a name in a <span>): the text of one block
  // (the nearest element that is not phrasing) is read as one, whatever the CSS makes of it.
  const PHRASING = new Set(["A", "ABBR", "B", "BDI", "BDO", "BR", "CITE", "CODE", "DATA", "DEL", "DFN",
    "EM", "I", "INS", "KBD", "MARK", "Q", "S", "SAMP", "SMALL", "SPAN", "STRONG", "SUB", "SUP",
    "TIME", "U", "VAR", "WBR"]);
  const blockOf = (el) => {
    let at = el;
    while (at && at !== document.body && PHRASING.has(at.tagName)) at = at.parentElement;
    return at || document.body;
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let depth = 0, block = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(NOT_SHOWN) || parent.closest("select")) continue;
    const here = blockOf(parent);
    if (here !== block) { block = here; depth = 0; }
    let out;
    [out, depth] = outside(node.data, depth);
    if (parent.closest(THEIRS) || !shown(parent)) continue;
    out = notData(out);
    if (wordy(out)) found.push(tidy(out));
  }
  // A select's options, and its groups' labels, as a list: a long one is summed up.
  for (const select of document.body.querySelectorAll("select")) {
    if (select.closest(THEIRS) || !shown(select)) continue;
    const names = [...select.querySelectorAll("optgroup")].map((g) => g.label)
      .concat([...select.options].filter((o) => !o.closest(THEIRS)).map((o) => o.text));
    const words = names.map((text) => tidy(notData(outside(text, 0)[0]))).filter(wordy);
    const which = select.id ? `#${select.id}` : select.name;
    if (words.length > 6) {
      found.push(`[options of ${which}] ${words.length} of ${names.length}: ${words.slice(0, 6).join(", ")}, …`);
    } else {
      for (const text of words) found.push(`[option of ${which}] ${text}`);
    }
  }
  const ATTRIBUTES = ["aria-label", "title", "alt", "placeholder"];
  const said = (name, text) => {
    const out = without(notData(outside(text, 0)[0]), THEIR_WORDS);
    if (wordy(out)) found.push(`[${name}] ${tidy(out)}`);
  };
  for (const el of document.body.querySelectorAll(
      "[aria-label], [title], [alt], [placeholder], input[type=submit], input[type=button], "
      + "input[type=reset]")) {
    if (el.closest(THEIRS) || el.closest(NOT_SHOWN) || !shown(el)) continue;
    for (const name of ATTRIBUTES) if (el.hasAttribute(name)) said(name, el.getAttribute(name));
    if (el.matches("input[type=submit], input[type=button], input[type=reset]")) said("value", el.value);
  }
  said("title", document.title);
  const words = document.getElementById("live-words");
  if (words) {
    for (const [key, text] of Object.entries(JSON.parse(words.textContent))) {
      // A language's tag ("es", "en-GB": how the script's dates are said) is a code, not words.
      if (/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(String(text))) continue;
      said(`live word ${key}`, String(text));
    }
  }
  return [...new Set(found)];
}
"""


def language_data(code: str = CODE) -> list[str]:
    """Every text in Cairn's data files written for a language (server/data/*.<code>.json)."""
    texts: list[str] = []

    def collect(value: object) -> None:
        if isinstance(value, str):
            texts.append(" ".join(value.split()))
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for path in sorted((ROOT / "server" / "data").glob(f"*.{code}.json")):
        collect(json.loads(path.read_text(encoding="utf-8")))
    return sorted(set(texts))


def calendar_names(code: str = CODE) -> list[str]:
    """The language's names of months and weekdays, as Babel says them (wide and short)."""
    from babel import Locale

    locale = Locale.parse(code)
    return sorted({name for table in (locale.months, locale.days)
                   for context in ("format", "stand-alone")
                   for width in ("abbreviated", "wide")
                   for name in table[context][width].values()})


async def unmarked(page, code: str = CODE) -> list[str]:
    """The words a reader of the page sees (or hears) outside the pseudo-language's markers."""
    return await page.evaluate(_UNMARKED_JS, [OPEN, CLOSE, language_data(code) + calendar_names(code)])


def choose_language(database_url: str, code: str = CODE) -> None:
    """Every member so far reads Cairn in `code`, as if each had chosen it (on a live server's
    SQLite file)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    path = make_url(database_url).database
    assert path, database_url
    with sqlite3.connect(path) as db:
        db.execute("UPDATE users SET language = ?", (code,))
