// oidc-provider.mjs — the peer of the trivial-login benchmark (bench/load,
// docs/performance.md): npm oidc-provider with its development interactions
// (a login form that takes any name, then a consent form), ES256 ID tokens,
// PKCE required and one confidential client, on plain HTTP on 127.0.0.1 as
// sleuteld runs behind its proxy config.  Started by bench_load, which
// drives it with the same C load generator; it prints one line
// {"port":N,"pid":N} once it listens and stops on SIGTERM or when its
// stdin closes (the bench gone).
//
//   node bench/peer/oidc-provider.mjs [--port N]
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// The pinned copy of the integration tests (tests/package-lock.json).
const require = createRequire(path.join(here, '../../tests/package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));

const i = process.argv.indexOf('--port');
const port = i > 0 ? Number(process.argv[i + 1]) : 0;
// The JWK straight from the generator: exporting a generated KeyObject as a
// JWK can deadlock Node 20 (tests/integration/keygen.test.mjs).
const { privateKey: jwk } = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { format: 'jwk' },
  publicKeyEncoding: { format: 'jwk' },
});

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench', client_secret: 'bench-secret-bench-secret-bench-secret',
    redirect_uris: ['https://rp.example/cb'], response_types: ['code'], grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'ES256', token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [{ ...jwk, alg: 'ES256', use: 'sig', kid: 'bench' }] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  // Everyone the login form names exists, with the claims of `profile`.
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id, given_name: 'Bench', family_name: id }) }),
  claims: { openid: ['sub'], profile: ['given_name', 'family_name'] },
});
// Quiet: no per-request warnings on the bench's terminal.
provider.on('server_error', (ctx, e) => console.error('peer server_error', e.message));

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid }) + '\n');
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
