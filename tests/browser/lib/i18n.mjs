// i18n.mjs — the portal's message catalogs and English message ids, read at
// test time so that the browser tests follow po/*.po instead of hard-coding
// translations.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, BUILD } from '../../integration/lib/harness.mjs';

export const LANGS = ['nl', 'fr', 'de', 'en'];
// The names the language switch shows (src/portal/pages.c, lang_nav).
export const LANG_NAMES = { nl: 'Nederlands', fr: 'Français', de: 'Deutsch', en: 'English' };

function unquote(s) {
  // A PO string is a C string literal; JSON covers \n \t \" \\ and \uXXXX.
  try {
    return JSON.parse(s);
  } catch {
    return s.slice(1, -1).replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r' }[c] ?? c));
  }
}

// msgid → msgstr of the entries msgfmt would compile: not obsolete, not
// fuzzy, with a non-empty msgstr.
export function parsePo(text) {
  const out = new Map();
  let cur = null;
  let field = null;
  let pendingFuzzy = false;
  const flush = () => {
    if (cur && !cur.fuzzy && cur.msgid && cur.msgstr) {
      out.set(cur.msgctxt !== undefined ? `${cur.msgctxt}\u0004${cur.msgid}` : cur.msgid, cur.msgstr);
      // The plural id gives the second form: what nl, fr, de and en (two
      // forms each) show for any count above 1.
      if (cur.msgid_plural && cur.msgstr1 && cur.msgctxt === undefined && !out.has(cur.msgid_plural)) {
        out.set(cur.msgid_plural, cur.msgstr1);
      }
    }
    cur = null;
    field = null;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#~')) continue; // obsolete
    if (line === '' || line.startsWith('#')) {
      if (cur && cur.msgid !== undefined) flush();
      if (line.startsWith('#,')) pendingFuzzy = /\bfuzzy\b/.test(line);
      continue;
    }
    const m = line.match(/^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$/);
    if (m) {
      if (m[1] === 'msgctxt' || (m[1] === 'msgid' && cur && cur.msgid !== undefined)) flush();
      if (!cur) {
        cur = { fuzzy: pendingFuzzy };
        pendingFuzzy = false;
      }
      // Plural forms: the singular (msgstr[0]) is what a plain lookup gives,
      // the plural id the second (msgstr[1]).
      field = m[1] === 'msgstr[0]' ? 'msgstr' : m[1] === 'msgstr[1]' ? 'msgstr1' : /^msgstr\[/.test(m[1]) ? null : m[1];
      if (field) cur[field] = unquote(m[2]);
      continue;
    }
    if (line.startsWith('"') && cur && field) cur[field] += unquote(line);
  }
  flush();
  return out;
}

export function loadCatalogs(poDir = path.join(ROOT, 'po')) {
  const cats = {};
  for (const l of LANGS) cats[l] = parsePo(readFileSync(path.join(poDir, `${l}.po`), 'utf8'));
  return cats;
}

// The compiled catalogs the server loads must not be older than the .po
// files the tests read.
export function staleCatalogs(poDir = path.join(ROOT, 'po'), moDir = path.join(BUILD, 'po')) {
  const stale = [];
  for (const l of LANGS) {
    const po = path.join(poDir, `${l}.po`);
    const mo = path.join(moDir, `${l}.mo`);
    if (!existsSync(mo) || statSync(mo).mtimeMs < statSync(po).mtimeMs) stale.push(`${l}.mo`);
  }
  return stale;
}

// The English message ids of the page templates ({{_ text}} and
// {{_ text %1 | var}}) and of N_("…") in the portal and OIDC sources.
export function englishMsgids() {
  const ids = new Set();
  const tdir = path.join(ROOT, 'data', 'templates');
  for (const f of readdirSync(tdir)) {
    for (const m of readFileSync(path.join(tdir, f), 'utf8').matchAll(/\{\{_\s+([^}|]+?)\s*(?:\|[^}]*)?\}\}/g)) ids.add(m[1]);
  }
  for (const d of ['src/portal', 'src/oidc']) {
    for (const f of readdirSync(path.join(ROOT, d)).filter((x) => x.endsWith('.c'))) {
      for (const m of readFileSync(path.join(ROOT, d, f), 'utf8').matchAll(/\bN_\("((?:[^"\\]|\\.)*)"\)/g)) ids.add(unquote(`"${m[1]}"`));
    }
  }
  return [...ids];
}

// A translation helper bound to the catalogs: t(lang, msgid) is what the
// server shows (the msgid when the catalog has no entry); has(lang, msgid)
// says whether the catalog translates it.
export function translator(cats) {
  return {
    t: (lang, id) => cats[lang].get(id) || id,
    has: (lang, id) => cats[lang].has(id),
  };
}

// The texts a test compares pages with: the translator and the English
// message ids, after checking that build/po is not older than po/.
export function portalTexts() {
  const stale = staleCatalogs();
  if (stale.length) throw new Error(`build/po/${stale.join(', ')} older than po/*.po: run ninja -C build first`);
  return { T: translator(loadCatalogs()), msgids: englishMsgids() };
}
