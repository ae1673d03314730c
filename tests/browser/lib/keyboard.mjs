// keyboard.mjs — a page walked by keyboard only (WCAG 2.1.1 Keyboard,
// 2.4.7 Focus Visible): Tab through every control, then Tab to one and
// press a key on it.  Shared by timers.test.mjs and keyboard.test.mjs.
import assert from 'node:assert/strict';

// What has the focus: its tag, id, name, href or text, and whether the
// focus shows (an outline of 2 px or more, or a box shadow).
export function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const cs = getComputedStyle(el);
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
    return {
      tag: el.tagName.toLowerCase(), id: el.id, type: el.getAttribute('type') || '',
      href: el.getAttribute('href') || '', action: el.form ? el.form.getAttribute('action') : '',
      text: (el.innerText || el.value || '').replace(/\s+/g, ' ').trim(),
      visible: outline || cs.boxShadow !== 'none',
    };
  });
}

// Put the keyboard's starting point at the top of the page, as a fresh load
// does (the body takes the focus for a moment).
export const fromTop = (page) => page.evaluate(() => {
  document.body.setAttribute('tabindex', '-1');
  document.body.focus();
  document.body.removeAttribute('tabindex');
});

const stopKey = (f) => `${f.tag}#${f.id}|${f.href}|${f.action}|${f.text}`;

// Tab from the top of the page through every control once (until the focus
// comes back round or leaves the page): each shows its focus on pages of
// `portalBase` (a test RP's own are not under test).  Returns them in order.
export async function tabThrough(page, portalBase, label, max = 40) {
  const portal = new URL(page.url()).origin === portalBase;
  await fromTop(page);
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (f === null) break;
    const key = stopKey(f);
    if (seen.length && seen[0].key === key) break;
    if (portal) assert.ok(f.visible, `${label}: the focus on ${key} shows`);
    seen.push({ ...f, key });
  }
  assert.ok(seen.length > 0, `${label}: Tab reaches something`);
  return seen;
}

// Every control by Tab (tabThrough), then from the top again by Tab to
// the one matching `pred`, and press `keyName` on it.
export async function tabTo(page, portalBase, label, pred, keyName = 'Enter') {
  const stops = await tabThrough(page, portalBase, label);
  const idx = stops.findIndex(pred);
  assert.ok(idx >= 0, `${label}: no such control among ${stops.map((s) => s.key).join(', ')}`);
  await fromTop(page);
  for (let i = 0; i <= idx; i++) await page.keyboard.press('Tab');
  assert.equal(stopKey(await focused(page)), stops[idx].key);
  await page.keyboard.press(keyName);
  return stops;
}
