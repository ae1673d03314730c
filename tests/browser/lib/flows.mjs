// flows.mjs — two walks through the portal that several browser files
// need: the citizen's page reached with the test key, and the demo bank's
// proofing from sleutel's "leaving for the bank" page to its callback.
import { at } from './browser.mjs';

// From the citizen's log-in page (already open) through the key choice
// and the test key ("log in here") to the citizen's page.
export async function accountByTestKey(page, base) {
  await page.click('a.button[href^="/account/login"]');
  await page.waitForURL(at(base, '/login'));
  await page.click('a.key[href^="/key/test?"]');
  await page.waitForURL(at(base, '/key/test'));
  await page.click('button[name="mode"][value="direct"]');
  await page.waitForURL((u) => at(base, '/account')(u) && !u.searchParams.has('code'));
}

// From sleutel's page before the bank (already open) through the demo
// bank's login as "jan" back to sleutel's callback page.
export async function proofWithDemoBank(page, base, bank) {
  await page.click('form[action="/proofing/bank/demo"] button[type="submit"]');
  await page.waitForURL((u) => u.origin === bank.issuer && /\/interaction\//.test(u.pathname));
  await page.fill('#account', 'jan');
  await page.fill('#password', 'demo');
  await page.click('button[value="login"]');
  await page.waitForURL(at(base, '/proofing/bank/callback'));
}
