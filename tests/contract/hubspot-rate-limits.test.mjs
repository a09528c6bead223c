// HubSpot's rate limits as @hubspot/api-client sees them, on an emulator of their own
// (HUBSPOT_LIMITED_URL) so that the low limits set here slow no other check.
// https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HUBSPOT_LIMITED_URL, control, hubspotClient, rejection, tag } from './helpers.mjs';

const limits = (config) => control(HUBSPOT_LIMITED_URL, 'POST', '/_sandbox/config', config);
const client = (options = {}) => hubspotClient(options, HUBSPOT_LIMITED_URL);
const OFF = { rate_limit: null, search_rate_limit: null };

test('every call reports the burst limit in X-HubSpot-RateLimit-* headers', async () => {
  await limits({ ...OFF, rate_limit: { max: 50, interval_ms: 10000 } });
  const api = client().crm.contacts.basicApi;
  const first = await api.getPageWithHttpInfo(1);
  const second = await api.getPageWithHttpInfo(1);
  assert.equal(first.httpStatusCode, 200);
  assert.equal(first.headers['x-hubspot-ratelimit-max'], '50');
  assert.equal(first.headers['x-hubspot-ratelimit-interval-milliseconds'], '10000');
  assert.equal(Number(second.headers['x-hubspot-ratelimit-remaining']), Number(first.headers['x-hubspot-ratelimit-remaining']) - 1);
});

test('past the burst limit a call is 429 TEN_SECONDLY_ROLLING, thrown when retries are off', async () => {
  await limits({ ...OFF, rate_limit: { max: 2, interval_ms: 60000 } });
  const api = client({ numberOfApiCallRetries: 0 }).crm.contacts.basicApi;
  await api.getPage(1);
  await api.getPage(1);
  const error = await rejection(api.getPage(1));
  assert.equal(error.code, 429);
  assert.equal(error.body.policyName, 'TEN_SECONDLY_ROLLING');
  assert.equal(error.body.errorType, 'RATE_LIMIT');
  await limits(OFF);
});

test('numberOfApiCallRetries waits out a 429 of the burst limit and the call then succeeds', async () => {
  // The client waits 10 s after a TEN_SECONDLY_ROLLING 429 before it retries; a one-second
  // window has emptied by then.
  await limits({ ...OFF, rate_limit: { max: 1, interval_ms: 1000 } });
  const t = tag();
  const api = client({ numberOfApiCallRetries: 2 }).crm.contacts.basicApi;
  await api.getPage(1); // uses the window's only call
  const started = Date.now();
  const created = await api.create({ properties: { email: `${t}@example.com` }, associations: [] });
  assert.match(created.id, /^\d+$/);
  assert.ok(Date.now() - started >= 5000, 'the client waited before retrying');
  await limits(OFF);
});

test('search has its own per-second limit; the client retries its 429 after a second', async () => {
  await limits({ ...OFF, search_rate_limit: { max: 1, interval_ms: 1000 } });
  const body = {
    filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }],
    properties: ['email'],
    limit: 1,
  };
  const noRetry = client({ numberOfApiCallRetries: 0 }).crm.contacts.searchApi;
  await noRetry.doSearch(body);
  const error = await rejection(noRetry.doSearch(body));
  assert.equal(error.code, 429);
  assert.equal(error.body.message, 'You have reached your secondly limit.');

  // Other calls are not counted against the search limit.
  await client().crm.contacts.basicApi.getPage(1);

  const retrying = client({ numberOfApiCallRetries: 3 }).crm.contacts.searchApi;
  await limits({ ...OFF, search_rate_limit: { max: 1, interval_ms: 1000 } });
  await retrying.doSearch(body);
  const page = await retrying.doSearch(body);
  assert.ok(Array.isArray(page.results), 'the retried search answered');
  await limits(OFF);
});
