// HubSpot's OAuth and the request limits a client meets without any rate limit: the page and
// batch sizes, and authentication errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HUBSPOT_URL, hubspotClient, rejection, tag } from './helpers.mjs';

const client = hubspotClient();

test('OAuth: a code is exchanged for tokens, the access token works and describes itself, the refresh token renews it', async () => {
  // https://developers.hubspot.com/docs/api/oauth/tokens
  const tokens = client.oauth.tokensApi;
  const issued = await tokens.create(
    'authorization_code',
    'contract-code',
    'https://example.com/oauth/callback',
    'contract-client-id',
    'contract-client-secret',
  );
  assert.ok(issued.accessToken && issued.refreshToken);
  assert.equal(issued.tokenType.toLowerCase(), 'bearer');
  assert.ok(issued.expiresIn > 0);

  const authorised = hubspotClient({ accessToken: issued.accessToken });
  const page = await authorised.crm.contacts.basicApi.getPage(1);
  assert.ok(Array.isArray(page.results));
  const info = await client.oauth.accessTokensApi.get(issued.accessToken);
  assert.ok(info.hubId, 'the token names its portal');
  assert.ok(Array.isArray(info.scopes));

  const renewed = await tokens.create(
    'refresh_token',
    undefined,
    undefined,
    'contract-client-id',
    'contract-client-secret',
    issued.refreshToken,
  );
  assert.ok(renewed.accessToken);
  assert.notEqual(renewed.accessToken, issued.accessToken);
});

test('a call without a valid token is 401', async () => {
  const anonymous = hubspotClient({ accessToken: 'not-a-valid-token' });
  const error = await rejection(anonymous.crm.contacts.basicApi.getPage(1));
  assert.equal(error.code, 401);
  assert.equal(error.body.category, 'INVALID_AUTHENTICATION');
});

test('a batch of more than 100 inputs is 400, and so is a search page of more than 200', async () => {
  // Batch endpoints take at most 100 inputs; search returns at most 200 a page:
  // https://developers.hubspot.com/docs/guides/api/crm/search#limitations
  const t = tag();
  const inputs = Array.from({ length: 101 }, (_, i) => ({ properties: { email: `${t}.${i}@example.com` }, associations: [] }));
  const batch = await rejection(client.crm.contacts.batchApi.create({ inputs }));
  assert.equal(batch.code, 400);
  const search = await rejection(
    client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }],
      limit: 201,
    }),
  );
  assert.equal(search.code, 400);
});

test('propertiesWithHistory gives each value newest first with its source and timestamp', async () => {
  const t = tag();
  const created = await client.crm.contacts.basicApi.create({
    properties: { email: `${t}@example.com`, jobtitle: 'First' },
    associations: [],
  });
  await client.crm.contacts.basicApi.update(created.id, { properties: { jobtitle: 'Second' } });
  const read = await client.crm.contacts.basicApi.getById(created.id, ['jobtitle'], ['jobtitle']);
  const history = read.propertiesWithHistory.jobtitle;
  assert.deepEqual(
    history.map((h) => h.value),
    ['Second', 'First'],
  );
  assert.ok(history.every((h) => h.timestamp instanceof Date && h.sourceType));
});
