// rp.mjs — a small relying party for the browser tests, on plain HTTP at
// 127.0.0.1 with a free port. It is an ordinary openid-client RP: its home
// page links to /start, which builds the authorization URL with PKCE, state
// and nonce (plus ui_locales / prompt when asked), and /cb records the query
// it receives, redeems the code and shows the claims it got.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { freePort } from '../../integration/lib/harness.mjs';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)} · Test RP</title></head>
<body><main>${body}</main></body></html>`;

// `scopes`: what the client may be granted; it asks for 'openid profile
// eid', and shows the national register number, so eid by default.
export async function startRp(server, { name = 'Mijn gezondheid', scopes = 'openid profile eid' } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const redirectUri = `${base}/cb`;
  const client = await server.client({ name, redirectUris: [redirectUri], auth: 'client_secret_basic', scopes });
  const config = await oidc.discovery(new URL(server.issuer), client.client_id, client.client_secret,
    oidc.ClientSecretBasic(client.client_secret));
  const sessions = new Map(); // rp_sid cookie → Map(state → { verifier, nonce })
  const callbacks = []; // { query, claims?, userinfo?, error? } for each /cb visit

  function session(req, res) {
    const m = /(?:^|;\s*)rp_sid=([A-Za-z0-9_-]+)/.exec(req.headers.cookie || '');
    if (m && sessions.has(m[1])) return sessions.get(m[1]);
    const id = randomBytes(16).toString('base64url');
    const s = new Map();
    sessions.set(id, s);
    res.setHeader('Set-Cookie', `rp_sid=${id}; Path=/; HttpOnly; SameSite=Lax`);
    return s;
  }

  async function handle(req, res) {
    const url = new URL(req.url, base);
    const html = (status, title, body, headers = {}) =>
      res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...headers }).end(page(title, body));
    if (url.pathname === '/') {
      session(req, res);
      html(200, name, `<h1>${esc(name)}</h1><p><a id="login" href="/start${esc(url.search)}">Log in with sleutel</a></p>`);
    } else if (url.pathname === '/start') {
      const s = session(req, res);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      s.set(state, { verifier, nonce });
      const extra = {};
      for (const k of ['ui_locales', 'prompt', 'max_age']) if (url.searchParams.has(k)) extra[k] = url.searchParams.get(k);
      const to = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri, scope: 'openid profile eid', state, nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
      });
      res.writeHead(302, { Location: to.href }).end();
    } else if (url.pathname === '/cb') {
      const s = session(req, res);
      const entry = { query: Object.fromEntries(url.searchParams), at: Date.now() };
      callbacks.push(entry);
      const tx = s.get(url.searchParams.get('state'));
      if (url.searchParams.has('error')) {
        entry.error = url.searchParams.get('error');
        html(200, 'Login failed', `<h1>Login failed</h1><p>error: <code id="error">${esc(entry.error)}</code></p>
<p>${esc(url.searchParams.get('error_description') || '')}</p>`);
        return;
      }
      if (!tx) throw new Error(`callback with an unknown state: ${url.search}`);
      s.delete(url.searchParams.get('state'));
      const tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: tx.verifier, expectedState: url.searchParams.get('state'), expectedNonce: tx.nonce,
      });
      entry.claims = tokens.claims();
      entry.userinfo = await oidc.fetchUserInfo(config, tokens.access_token, entry.claims.sub);
      const all = { ...entry.claims, ...entry.userinfo };
      html(200, 'Logged in', `<h1>Welcome, <span id="welcome">${esc(all.given_name || '')}</span></h1>
<dl id="claims">${Object.entries(all).map(([k, v]) => `<dt>${esc(k)}</dt><dd data-claim="${esc(k)}">${esc(typeof v === 'string' ? v : JSON.stringify(v))}</dd>`).join('\n')}</dl>`);
    } else if (url.pathname === '/csp-probe') {
      // A page that breaks its own CSP: shows that the tests' CSP watch sees violations.
      html(200, 'CSP probe', '<h1>CSP probe</h1><script>document.title = "ran";</script>',
        { 'Content-Security-Policy': "script-src 'none'" });
    } else if (url.pathname === '/a11y-probe') {
      // A page with known WCAG failures: shows that axe runs and reports.
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head>
<meta charset="utf-8"><title>a11y probe</title></head><body><main><h1>a11y probe</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="20" height="20">
<p style="color:#aaa;background:#fff">low contrast</p></main></body></html>`);
    } else {
      html(404, 'Not found', '<h1>Not found</h1>');
    }
  }

  const srv = http.createServer((req, res) => handle(req, res).catch((e) => {
    const entry = callbacks.at(-1);
    if (entry && req.url.startsWith('/cb')) entry.failure = String(e);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`RP error: ${e}`);
  }));
  await new Promise((resolve) => srv.listen(port, '127.0.0.1', resolve));
  return {
    base,
    redirectUri,
    client,
    callbacks,
    last: () => callbacks.at(-1),
    async close() {
      srv.closeAllConnections();
      await new Promise((resolve) => srv.close(resolve));
    },
  };
}
