// account.mjs — the citizen's page (/account) in integration tests: a
// login through the portal with the test key, and the page as HTML.
import assert from 'node:assert/strict';
import { Agent, loginWithTestKey } from './harness.mjs';

// Log in to the account page as `person`; the agent with its session.
export async function loginToAccount(server, person) {
  const agent = new Agent();
  let res = await agent.get(`${server.base}/account/login?lang=en`);
  assert.equal(res.status, 303);
  const back = await loginWithTestKey(server, new URL(res.headers.get('location'), server.base), { agent, person });
  res = await agent.get(String(back));
  assert.equal(res.status, 303);
  return agent;
}

// GET /account?query: 200, the HTML.
export async function accountPage(server, agent, query = 'lang=en') {
  const res = await agent.get(`${server.base}/account?${query}`);
  assert.equal(res.status, 200);
  return res.text();
}
