// A real OpenID provider for the service tests: panva's oidc-provider, certified by the OpenID
// Foundation, with its own sign-in and consent pages (devInteractions). The tests drive those
// pages over HTTP as a browser would, so the code flow, the two ways a client authenticates,
// refresh-token rotation, revocation and introspection are those of a server others run.
//
//   node server.mjs [--port N] [--access-token-ttl SECONDS] [--redirect-uri URL]...
//                   [--any-loopback-port]
//
// Each option may be given by environment instead: OIDC_PORT, OIDC_ACCESS_TOKEN_TTL,
// OIDC_REDIRECT_URIS (comma-separated), OIDC_ANY_LOOPBACK_PORT=1. Once listening on 127.0.0.1
// it prints one JSON line to stdout:
// {"issuer": ..., "clients": [{client_id, client_secret, token_endpoint_auth_method}]}.
//
// --any-loopback-port registers the clients as native apps, whose redirect URI on 127.0.0.1
// matches on any port (RFC 8252 §7.3): a service under test learns its port only after it was
// configured with this provider's issuer, so its callback cannot be registered exactly.
//
// GET /test-only/grants lists the grants the token endpoint gave, oldest first, each as
// {grant_type, client_id, authentication}: how a test knows how many refreshes reached the
// provider, and how the client authenticated (oidc-provider takes either secret method from
// a client registered for one, so only this shows which one the service used).
// It exits when its stdin closes or its parent dies, so a test that stops never leaves it
// running.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

// stdout carries the start line and nothing else: the test stops reading after it, and a log
// line written to a pipe nobody reads would kill the process (EPIPE). Logs go to stderr.
console.log = console.error;
console.info = console.error;
console.warn = console.error;
process.stdout.on('error', () => {});

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    'access-token-ttl': { type: 'string', default: process.env.OIDC_ACCESS_TOKEN_TTL ?? '60' },
    'redirect-uri': { type: 'string', multiple: true },
    'any-loopback-port': { type: 'boolean', default: process.env.OIDC_ANY_LOOPBACK_PORT === '1' },
  },
});

const redirectUris = args['redirect-uri']
  ?? (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1/callback').split(',').filter(Boolean);
const accessTokenTtl = Number.parseInt(args['access-token-ttl'], 10);
if (!(accessTokenTtl > 0)) {
  throw new Error(`--access-token-ttl must be a number of seconds, got ${args['access-token-ttl']}`);
}

// One client per way of authenticating at the token endpoint (RFC 6749 §2.3.1).
const clients = [
  ['basic-client', 'basic-client-secret', 'client_secret_basic'],
  ['post-client', 'post-client-secret', 'client_secret_post'],
].map(([clientId, secret, method]) => ({
  client_id: clientId,
  client_secret: secret,
  token_endpoint_auth_method: method,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: redirectUris,
  ...(args['any-loopback-port'] ? { application_type: 'native' } : {}),
}));

// Any login is an account; its subject is the login typed on the sign-in page.
async function findAccount(_ctx, sub) {
  return {
    accountId: sub,
    async claims() {
      return { sub, email: `${sub}@example.com`, email_verified: true, name: sub };
    },
  };
}

// The issuer names the port, which is known only once the socket is bound.
const server = createServer();
server.listen(Number.parseInt(args.port, 10), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    findAccount,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    cookies: { keys: ['test-cookie-key-not-a-secret'] },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
    },
    // A refresh token is issued to a client allowed the grant that asked for offline_access.
    issueRefreshToken: async (_ctx, client, code) => (
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access')
    ),
    // Every refresh returns a new refresh token and consumes the old one.
    rotateRefreshToken: () => true,
    // PKCE is required of public clients only, as OAuth 2.1 and oidc-provider's default have it.
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    ttl: { AccessToken: accessTokenTtl },
  });
  const grants = [];
  provider.on('grant.success', (ctx) => {
    const secretInForm = (ctx.oidc.params.client_secret ?? ctx.oidc.body?.client_secret) !== undefined;
    let authentication = 'none';
    if (/^basic /i.test(ctx.headers.authorization ?? '')) authentication = 'client_secret_basic';
    else if (secretInForm) authentication = 'client_secret_post';
    grants.push({
      grant_type: ctx.oidc.params.grant_type,
      client_id: ctx.oidc.client.clientId,
      authentication,
    });
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'GET' && req.url === '/test-only/grants') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(grants));
      return;
    }
    callback(req, res);
  });
  process.stdout.write(`${JSON.stringify({
    issuer,
    clients: clients.map(({ client_id, client_secret, token_endpoint_auth_method }) => ({
      client_id, client_secret, token_endpoint_auth_method,
    })),
  })}\n`);
});

// The test that started it holds its stdin: when that closes (the test ended, or crashed),
// so does the provider.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
// A parent killed outright may leave the pipe open in another process: watch the parent too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
