// gallery-coverage.test.mjs — the screenshot gallery (`make screenshots`,
// tests/browser/gallery.mjs) is too slow for `make check`; this is the
// cheap part that is in it: every template in data/templates is shown by
// some page of the gallery's list (lib/gallery-pages.mjs), and the gallery
// script shoots every page of that list.  A new page without a screenshot
// fails here.  No server, no browser: well under a second.
//
//   node --test tests/browser/gallery-coverage.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../integration/lib/harness.mjs';
import { PAGES, GROUPS } from './lib/gallery-pages.mjs';

const TEMPLATES = readdirSync(path.join(ROOT, 'data', 'templates')).filter((f) => f.endsWith('.html'))
  .map((f) => f.slice(0, -'.html'.length));
const GALLERY = readFileSync(path.join(ROOT, 'tests', 'browser', 'gallery.mjs'), 'utf8');

test('every template in data/templates is on some page of the gallery', () => {
  assert.ok(TEMPLATES.length >= 40, `found ${TEMPLATES.length} templates`);
  const shown = new Set(PAGES.flatMap((p) => p.templates));
  const missing = TEMPLATES.filter((t) => !shown.has(t));
  assert.deepEqual(missing, [], 'templates no gallery page shows: add the page to tests/browser/lib/gallery-pages.mjs ' +
    'and shoot it in tests/browser/gallery.mjs');
  const unknown = [...shown].filter((t) => !TEMPLATES.includes(t));
  assert.deepEqual(unknown, [], 'the gallery list names templates that do not exist');
});

test('the gallery shoots every page of its list, and the names are unique', () => {
  const names = PAGES.map((p) => p.name);
  assert.equal(new Set(names).size, names.length, 'duplicate page names');
  const shot = new Set([...GALLERY.matchAll(/\bshoot\(\w+, lang, '([a-z0-9-]+)'\)/g)].map((m) => m[1]));
  assert.deepEqual(names.filter((n) => !shot.has(n)), [], 'pages of the list gallery.mjs never shoots');
  assert.deepEqual([...shot].filter((n) => !names.includes(n)), [], 'pages gallery.mjs shoots that are not in the list');
  for (const p of PAGES) assert.ok(GROUPS[p.group], `${p.name}: unknown group ${p.group}`);
});
