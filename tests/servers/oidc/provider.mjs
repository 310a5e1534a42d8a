// A real OpenID Connect provider (the oidc-provider package) for Dihya's API tests.
// Usage: node provider.mjs CONFIG.json — CONFIG holds {port, issuer, audience, jwks, clients, groups}.
// Client-credentials access tokens are JWTs (RS256) for `audience`, signed with the first key of
// `jwks`; the harness restarts the provider with another key set to rotate keys.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const provider = new Provider(config.issuer, {
  jwks: config.jwks,
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  })),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience: config.audience,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: (_ctx, token) => {
    const groups = (config.groups || {})[token.clientId];
    return groups ? { groups } : undefined;
  },
});
provider.listen(config.port, '127.0.0.1', () => console.log('ready'));
