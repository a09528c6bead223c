// Salesforce through jsforce: OAuth, describe, one record at a time, upsert by external id,
// sObject Collections, standard fields, errors and limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsforce from 'jsforce';
import { API_VERSION, SALESFORCE_URL, eighteen, lead, rejection, salesforce, tag } from './helpers.mjs';

const conn = await salesforce();

// A Lead id (key prefix 00Q) no record has, with its case-checksum suffix (the 18-character form).
const MISSING_LEAD_ID = eighteen('00Q000000000001');

test('OAuth client credentials give a token, the instance URL and an identity URL', async () => {
  const fresh = new jsforce.Connection({
    oauth2: { loginUrl: SALESFORCE_URL, clientId: 'contract-suite', clientSecret: 'contract-secret' },
    version: API_VERSION,
  });
  const user = await fresh.authorize({ grant_type: 'client_credentials' });
  assert.ok(fresh.accessToken, 'an access token');
  assert.equal(fresh.instanceUrl, SALESFORCE_URL);
  assert.match(user.id, /^005\w{12}(\w{3})?$/, 'the user id from the identity URL');
  assert.match(user.organizationId, /^00D\w{12}(\w{3})?$/, 'the org id from the identity URL');
  const identity = await fresh.identity();
  assert.equal(identity.user_id.slice(0, 15), user.id.slice(0, 15));
});

test('OAuth username-password flow logs in through jsforce login()', async () => {
  // jsforce uses the OAuth 2.0 username-password flow (not SOAP) when the connection has a
  // client id and secret: https://jsforce.github.io/document/#username-and-password-login-oauth2
  const fresh = new jsforce.Connection({
    oauth2: { loginUrl: SALESFORCE_URL, clientId: 'contract-suite', clientSecret: 'contract-secret' },
    version: API_VERSION,
  });
  const user = await fresh.login('integration@example.com', 'password-and-security-token');
  assert.ok(fresh.accessToken);
  assert.match(user.id, /^005/);
  const result = await fresh.query('SELECT COUNT() FROM User');
  assert.ok(result.totalSize >= 1);
});

test('OAuth with a wrong grant is refused in the OAuth error shape', async () => {
  const fresh = new jsforce.Connection({
    oauth2: { loginUrl: SALESFORCE_URL, clientId: 'contract-suite', clientSecret: 'contract-secret' },
    version: API_VERSION,
  });
  const error = await rejection(fresh.authorize({ grant_type: 'no_such_grant' }));
  assert.match(`${error.name} ${error.message}`, /unsupported_grant_type/);
});

test('describeGlobal lists Lead and Contact; describe gives Lead its fields and the external id', async () => {
  const global = await conn.describeGlobal();
  const names = global.sobjects.map((s) => s.name);
  for (const name of ['Lead', 'Contact', 'Account', 'User']) {
    assert.ok(names.includes(name), `${name} in describeGlobal`);
  }
  const described = await conn.sobject('Lead').describe();
  assert.equal(described.name, 'Lead');
  assert.equal(described.keyPrefix, '00Q');
  const fields = Object.fromEntries(described.fields.map((f) => [f.name, f]));
  for (const name of ['Id', 'Email', 'LastName', 'Company', 'OwnerId', 'Name', 'Street', 'Website', 'CreatedDate']) {
    assert.ok(fields[name], `Lead.${name} described`);
  }
  assert.equal(fields.Email.type, 'email');
  assert.equal(fields.HubSpot_Id__c.externalId, true);
  assert.equal(fields.OwnerId.type, 'reference');
  assert.deepEqual(fields.OwnerId.referenceTo.includes('User'), true);
  assert.equal(fields.Name.updateable, false, 'Name is compound: read-only, built from its parts');
});

test('a Lead is created, read, updated and deleted one at a time', async () => {
  const t = tag();
  const leads = conn.sobject('Lead');
  const created = await leads.create(lead(t, 1, { Title: 'Buyer' }));
  assert.equal(created.success, true);
  assert.match(created.id, /^00Q\w{15}$/);

  const read = await leads.retrieve(created.id);
  assert.equal(read.Id, created.id);
  assert.equal(read.Email, `${t}.1@example.com`);
  assert.equal(read.Title, 'Buyer');
  assert.equal(read.attributes.type, 'Lead');

  const updated = await leads.update({ Id: created.id, Title: 'Director' });
  assert.equal(updated.success, true);
  assert.equal((await leads.retrieve(created.id)).Title, 'Director');

  const deleted = await leads.destroy(created.id);
  assert.equal(deleted.success, true);
  // A deleted record sits in the recycle bin: reading it is ENTITY_IS_DELETED, not NOT_FOUND.
  const error = await rejection(leads.retrieve(created.id));
  assert.equal(error.errorCode, 'ENTITY_IS_DELETED');
});

test('upsert by external id creates the record, then updates the same one', async () => {
  const t = tag();
  const leads = conn.sobject('Lead');
  const first = await leads.upsert(lead(t, 1, { HubSpot_Id__c: t }), 'HubSpot_Id__c');
  assert.equal(first.success, true);
  assert.equal(first.created, true);
  const second = await leads.upsert({ HubSpot_Id__c: t, Title: 'Updated' }, 'HubSpot_Id__c');
  assert.equal(second.success, true);
  assert.equal(second.created, false);
  assert.equal(second.id, first.id);
  const found = await leads.find({ HubSpot_Id__c: t }, ['Id', 'Title']);
  assert.deepEqual(
    found.map((r) => [r.Id, r.Title]),
    [[first.id, 'Updated']],
  );
});

test('collections create, update and upsert up to 200 records a call, one result per record', async () => {
  const t = tag();
  const leads = conn.sobject('Lead');
  const records = Array.from({ length: 5 }, (_, i) => lead(t, i));
  records.push({ FirstName: 'No', Company: `${t} Inc` }); // LastName missing: that record fails alone
  const created = await leads.create(records, { allOrNone: false });
  assert.equal(created.length, 6);
  assert.deepEqual(
    created.map((r) => r.success),
    [true, true, true, true, true, false],
  );
  assert.equal(created[5].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
  assert.ok(created[5].errors[0].fields.includes('LastName'));

  const ids = created.slice(0, 5).map((r) => r.id);
  const updated = await leads.update(ids.map((Id) => ({ Id, Title: 'Bulk' })));
  assert.deepEqual(
    updated.map((r) => [r.id, r.success]),
    ids.map((id) => [id, true]),
  );

  const upserted = await leads.upsert(
    [lead(t, 10, { HubSpot_Id__c: `${t}a` }), lead(t, 11, { HubSpot_Id__c: `${t}b` })],
    'HubSpot_Id__c',
  );
  assert.deepEqual(
    upserted.map((r) => [r.success, r.created]),
    [
      [true, true],
      [true, true],
    ],
  );
});

test('collections with allOrNone roll back every record when one fails', async () => {
  // The call still answers 200, one result per record; the valid ones are rolled back:
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
  const t = tag();
  const leads = conn.sobject('Lead');
  const results = await leads.create([lead(t, 1), { Company: `${t} Inc` }], { allOrNone: true });
  assert.deepEqual(
    results.map((r) => [r.success, r.errors[0]?.statusCode]),
    [
      [false, 'ALL_OR_NONE_OPERATION_ROLLED_BACK'],
      [false, 'REQUIRED_FIELD_MISSING'],
    ],
  );
  const count = await conn.query(`SELECT COUNT() FROM Lead WHERE Company = '${t} Inc'`);
  assert.equal(count.totalSize, 0, 'nothing saved');
});

test('retrieve of several ids is one POST /composite/sobjects/Lead with the fields asked', async () => {
  // jsforce retrieves an array of ids with sObject Collections' POST form (ids and fields in
  // the body): https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_retrieve.htm
  const t = tag();
  const leads = conn.sobject('Lead');
  const created = await leads.create([lead(t, 1), lead(t, 2), lead(t, 3)]);
  const ids = created.map((r) => r.id);
  const records = await leads.retrieve(ids, { fields: ['Id', 'Email', 'LastName'] });
  assert.deepEqual(
    records.map((r) => [r.Id, r.Email]),
    ids.map((id, i) => [id, `${t}.${i + 1}@example.com`]),
  );
  // Without fields, jsforce asks for every field of the describe.
  const full = await leads.retrieve(ids.slice(0, 2));
  assert.equal(full.length, 2);
  assert.equal(full[0].Company, `${t} Inc`);
});

test('retrieve of several ids answers null in place of a missing record', async () => {
  const t = tag();
  const created = await conn.sobject('Lead').create(lead(t, 1));
  const records = await conn.sobject('Lead').retrieve([created.id, MISSING_LEAD_ID], { fields: ['Id'] });
  assert.equal(records.length, 2);
  assert.equal(records[0].Id, created.id);
  assert.equal(records[1], null);
});

test('Lead standard fields: Name from its parts, OwnerId defaulted to the user, Street and Website', async () => {
  const t = tag();
  const created = await conn
    .sobject('Lead')
    .create(lead(t, 1, { FirstName: 'Ada', Street: '1 Market St', Website: 'https://example.com' }));
  const [record] = await conn.query(
    `SELECT Id, Name, FirstName, LastName, OwnerId, Street, Website FROM Lead WHERE Id = '${created.id}'`,
  ).then((r) => r.records);
  assert.equal(record.Name, `Ada ${t}L1`);
  assert.match(record.OwnerId, /^005\w{15}$/, 'owned by a User');
  assert.equal(record.Street, '1 Market St');
  assert.equal(record.Website, 'https://example.com');
  const owner = await conn.sobject('User').retrieve(record.OwnerId);
  assert.equal(owner.IsActive, true);
});

test('a query naming an unknown field is INVALID_FIELD', async () => {
  const error = await rejection(conn.query('SELECT Id, NoSuchField__c FROM Lead'));
  assert.equal(error.errorCode, 'INVALID_FIELD');
  assert.match(error.message, /NoSuchField__c/);
});

test('a malformed id in a reference field is MALFORMED_ID; a missing record is NOT_FOUND', async () => {
  const t = tag();
  const error = await rejection(conn.sobject('Lead').create(lead(t, 1, { OwnerId: 'not-an-id' })));
  assert.equal(error.errorCode, 'MALFORMED_ID');

  const missing = await rejection(conn.sobject('Lead').retrieve(MISSING_LEAD_ID));
  assert.equal(missing.errorCode, 'NOT_FOUND');
  const update = await rejection(conn.sobject('Lead').update({ Id: MISSING_LEAD_ID, Title: 'x' }));
  assert.equal(update.errorCode, 'NOT_FOUND');
});

test('an unknown sObject type is NOT_FOUND', async () => {
  const error = await rejection(conn.sobject('NoSuchObject__c').describe());
  assert.equal(error.errorCode, 'NOT_FOUND');
});

test('collections update answers MALFORMED_ID for a malformed id, beside the records that saved', async () => {
  const t = tag();
  const created = await conn.sobject('Lead').create(lead(t, 1));
  const results = await conn.sobject('Lead').update(
    [
      { Id: created.id, Title: 'Saved' },
      { Id: 'not-an-id', Title: 'Refused' },
    ],
    { allOrNone: false },
  );
  assert.equal(results[0].success, true);
  assert.equal(results[1].success, false);
  assert.equal(results[1].errors[0].statusCode, 'MALFORMED_ID');
});

test('jsforce logs in again by itself when its session is no longer valid', async () => {
  // login() registers a refresh that repeats the username-password flow on INVALID_SESSION_ID;
  // the token is revoked as a real one is: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm
  const fresh = new jsforce.Connection({
    oauth2: { loginUrl: SALESFORCE_URL, clientId: 'contract-suite', clientSecret: 'contract-secret' },
    version: API_VERSION,
  });
  await fresh.login('integration@example.com', 'password-and-security-token');
  const before = fresh.accessToken;
  await fresh.oauth2.revokeToken(before);
  const result = await fresh.query('SELECT COUNT() FROM User');
  assert.ok(result.totalSize >= 1);
  assert.notEqual(fresh.accessToken, before, 'a new token');
});

test('every REST answer reports the API usage in Sforce-Limit-Info', async () => {
  await conn.query('SELECT COUNT() FROM Lead');
  assert.ok(conn.limitInfo?.apiUsage, 'jsforce read Sforce-Limit-Info');
  assert.ok(conn.limitInfo.apiUsage.used >= 1);
  assert.ok(conn.limitInfo.apiUsage.limit >= conn.limitInfo.apiUsage.used);
});

test('limits report the daily API requests, used as calls are made', async () => {
  const before = await conn.limits();
  assert.ok(before.DailyApiRequests.Max > 0);
  assert.ok(before.DailyApiRequests.Remaining <= before.DailyApiRequests.Max);
  await conn.query('SELECT COUNT() FROM Lead');
  const after = await conn.limits();
  assert.ok(after.DailyApiRequests.Remaining < before.DailyApiRequests.Remaining, 'calls are counted');
});
