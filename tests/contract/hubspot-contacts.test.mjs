// HubSpot through @hubspot/api-client: contacts one at a time and in batches, search with
// paging, properties, owners, and the errors a client must tell apart (400, 404, 409).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HUBSPOT_URL, control, hubspotClient, rejection, tag } from './helpers.mjs';

const client = hubspotClient();
const contacts = client.crm.contacts;

const email = (t, i = 0) => `${t}.${i}@example.com`;

async function createContacts(t, count, extra = () => ({})) {
  const ids = [];
  for (let start = 0; start < count; start += 100) {
    const inputs = Array.from({ length: Math.min(100, count - start) }, (_, i) => ({
      properties: { email: email(t, start + i), firstname: `F${start + i}`, lastname: t, ...extra(start + i) },
      associations: [],
    }));
    const response = await contacts.batchApi.create({ inputs });
    ids.push(...response.results.map((r) => r.id));
  }
  return ids;
}

test('a contact is created, read by id and by email, updated and archived', async () => {
  const t = tag();
  const created = await contacts.basicApi.create({
    properties: { email: email(t), firstname: 'Ada', lastname: 'Lovelace' },
    associations: [],
  });
  assert.match(created.id, /^\d+$/);
  assert.equal(created.properties.email, email(t));
  assert.ok(created.createdAt instanceof Date, 'createdAt is a date');

  const byId = await contacts.basicApi.getById(created.id, ['email', 'firstname', 'lastname']);
  assert.equal(byId.properties.firstname, 'Ada');
  const byEmail = await contacts.basicApi.getById(email(t), ['firstname'], undefined, undefined, false, 'email');
  assert.equal(byEmail.id, created.id);

  const updated = await contacts.basicApi.update(created.id, { properties: { firstname: 'Augusta' } });
  assert.equal(updated.properties.firstname, 'Augusta');
  assert.ok(updated.updatedAt >= created.updatedAt);

  await contacts.basicApi.archive(created.id);
  const error = await rejection(contacts.basicApi.getById(created.id));
  assert.equal(error.code, 404);
  const archived = await contacts.basicApi.getById(created.id, ['email'], undefined, undefined, true);
  assert.equal(archived.archived, true);
});

test('the contacts list pages with paging.next.after', async () => {
  const t = tag();
  await createContacts(t, 3);
  const first = await contacts.basicApi.getPage(2, undefined, ['email']);
  assert.equal(first.results.length, 2);
  assert.ok(first.paging?.next?.after, 'a cursor to the next page');
  const second = await contacts.basicApi.getPage(2, first.paging.next.after, ['email']);
  const firstIds = new Set(first.results.map((r) => r.id));
  assert.ok(second.results.every((r) => !firstIds.has(r.id)), 'the next page starts after the first');
});

test('batch create, read, update, upsert and archive answer one result per input', async () => {
  const t = tag();
  const ids = await createContacts(t, 3);
  assert.equal(ids.length, 3);

  const read = await contacts.batchApi.read({ inputs: ids.map((id) => ({ id })), properties: ['email'], propertiesWithHistory: [] });
  assert.equal(read.status, 'COMPLETE');
  assert.deepEqual(read.results.map((r) => r.properties.email).sort(), [0, 1, 2].map((i) => email(t, i)).sort());

  const byEmail = await contacts.batchApi.read({
    inputs: [{ id: email(t, 1) }],
    idProperty: 'email',
    properties: ['firstname'],
    propertiesWithHistory: [],
  });
  assert.equal(byEmail.results[0].id, ids[1]);

  const updated = await contacts.batchApi.update({ inputs: ids.map((id) => ({ id, properties: { jobtitle: 'Batch' } })) });
  assert.equal(updated.results.length, 3);
  assert.ok(updated.results.every((r) => r.properties.jobtitle === 'Batch'));

  // Upsert by email: an existing contact is updated, a new email creates one.
  // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-upsert
  const upserted = await contacts.batchApi.upsert({
    inputs: [
      { id: email(t, 0), idProperty: 'email', properties: { jobtitle: 'Upserted' } },
      { id: email(t, 9), idProperty: 'email', properties: { firstname: 'New', lastname: t } },
    ],
  });
  assert.equal(upserted.results.length, 2);
  const byMail = Object.fromEntries(upserted.results.map((r) => [r.properties.email, r]));
  assert.equal(byMail[email(t, 0)].id, ids[0]);
  assert.equal(byMail[email(t, 0)].properties.jobtitle, 'Upserted');
  assert.ok(byMail[email(t, 9)].id && !ids.includes(byMail[email(t, 9)].id));

  await contacts.batchApi.archive({ inputs: ids.slice(0, 2).map((id) => ({ id })) });
  const after = await contacts.batchApi.read({ inputs: ids.map((id) => ({ id })), properties: ['email'], propertiesWithHistory: [] });
  assert.deepEqual(after.results.map((r) => r.id), [ids[2]], 'only the unarchived contact is read');
  assert.equal(after.status, 'COMPLETE');
});

test('search filters, sorts and pages with after until every match is seen', async () => {
  const t = tag();
  const ids = await createContacts(t, 25, (i) => ({ jobtitle: i % 2 ? 'odd' : 'even' }));
  const request = (after) => ({
    filterGroups: [{ filters: [{ propertyName: 'lastname', operator: 'EQ', value: t }] }],
    sorts: ['email'],
    properties: ['email', 'jobtitle'],
    limit: 10,
    after,
  });
  const seen = [];
  let after;
  let total;
  do {
    const page = await contacts.searchApi.doSearch(request(after));
    total = page.total;
    seen.push(...page.results);
    after = page.paging?.next?.after;
  } while (after);
  assert.equal(total, 25);
  assert.deepEqual(seen.map((r) => r.id).sort(), [...ids].sort());

  const odd = await contacts.searchApi.doSearch({
    filterGroups: [
      {
        filters: [
          { propertyName: 'lastname', operator: 'EQ', value: t },
          { propertyName: 'jobtitle', operator: 'EQ', value: 'odd' },
        ],
      },
    ],
    properties: ['jobtitle'],
    limit: 100,
  });
  assert.equal(odd.total, 12);
  assert.ok(odd.results.every((r) => r.properties.jobtitle === 'odd'));
});

test('search by lastmodifieddate GTE (epoch milliseconds), oldest change first', async () => {
  // https://developers.hubspot.com/docs/guides/api/crm/search#filter-search-results
  const t = tag();
  const since = Date.now() - 60_000;
  const ids = await createContacts(t, 3);
  await contacts.basicApi.update(ids[0], { properties: { jobtitle: 'Changed last' } });
  const page = await contacts.searchApi.doSearch({
    filterGroups: [
      {
        filters: [
          { propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) },
          { propertyName: 'lastname', operator: 'EQ', value: t },
        ],
      },
    ],
    sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
    properties: ['lastmodifieddate'],
    limit: 200,
  });
  assert.equal(page.total, 3);
  const stamps = page.results.map((r) => new Date(r.properties.lastmodifieddate).getTime());
  assert.deepEqual([...stamps].sort((a, b) => a - b), stamps, 'ascending');
  assert.equal(page.results.at(-1).id, ids[0], 'the contact changed last comes last');
  const later = await contacts.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'lastname', operator: 'EQ', value: t }, { propertyName: 'lastmodifieddate', operator: 'GTE', value: String(Date.now() + 3600e3) }] }],
    limit: 10,
  });
  assert.equal(later.total, 0);
});

test('search pages stop at 10,000 results: paging past them is 400', async () => {
  // "The search endpoints are limited to 10,000 total results for any given query":
  // https://developers.hubspot.com/docs/guides/api/crm/search#limitations
  const error = await rejection(
    contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }],
      limit: 100,
      after: '10000',
    }),
  );
  assert.equal(error.code, 400);
});

test('properties: the contact schema lists email; a custom property is created and read back', async () => {
  const all = await client.crm.properties.coreApi.getAll('contacts');
  const names = all.results.map((p) => p.name);
  for (const name of ['email', 'firstname', 'lastname', 'hubspot_owner_id']) {
    assert.ok(names.includes(name), `${name} is a contact property`);
  }
  const emailProperty = await client.crm.properties.coreApi.getByName('contacts', 'email');
  assert.equal(emailProperty.type, 'string');

  const name = tag('contract_');
  const created = await client.crm.properties.coreApi.create('contacts', {
    name,
    label: 'Contract check',
    type: 'enumeration',
    fieldType: 'select',
    groupName: 'contactinformation',
    options: [
      { label: 'Yes', value: 'yes', displayOrder: 0, hidden: false },
      { label: 'No', value: 'no', displayOrder: 1, hidden: false },
    ],
  });
  assert.equal(created.name, name);
  const read = await client.crm.properties.coreApi.getByName('contacts', name);
  assert.deepEqual(read.options.map((o) => o.value), ['yes', 'no']);
});

test('owners: listed, found by email and by id', async () => {
  const t = tag();
  const added = await control(HUBSPOT_URL, 'POST', '/_sandbox/owners', {
    email: `${t}@example.com`,
    firstName: 'Owner',
    lastName: t,
  });
  const page = await client.crm.owners.ownersApi.getPage(`${t}@example.com`);
  assert.equal(page.results.length, 1);
  const [owner] = page.results;
  assert.equal(owner.email, `${t}@example.com`);
  assert.equal(String(owner.id), String(added.id));
  assert.match(String(owner.userId), /^\d+$/, 'an owner is a user of the portal');
  const byId = await client.crm.owners.ownersApi.getById(Number(owner.id));
  assert.equal(byId.lastName, t);
  const everyone = await client.crm.owners.ownersApi.getPage(undefined, undefined, 500);
  assert.ok(everyone.results.some((o) => o.id === owner.id));
});

test('errors: 400 for an unknown property, 404 for a missing contact, 409 for a duplicate email', async () => {
  const t = tag();
  const bad = await rejection(
    contacts.basicApi.create({ properties: { email: email(t), no_such_property_x: '1' }, associations: [] }),
  );
  assert.equal(bad.code, 400);
  assert.equal(bad.body.category, 'VALIDATION_ERROR');

  const missing = await rejection(contacts.basicApi.getById('999999999999'));
  assert.equal(missing.code, 404);

  await contacts.basicApi.create({ properties: { email: email(t, 1) }, associations: [] });
  const duplicate = await rejection(contacts.basicApi.create({ properties: { email: email(t, 1) }, associations: [] }));
  assert.equal(duplicate.code, 409);
  assert.equal(duplicate.body.category, 'CONFLICT');
  assert.match(duplicate.body.message, /Existing ID: \d+/);
});

test('a batch read of ids that do not exist answers 207 with errors, or only the found ones', async () => {
  // HubSpot answers the found records and lists the missing ids under errors (status 207).
  const t = tag();
  const [id] = await createContacts(t, 1);
  const read = await contacts.batchApi.read({
    inputs: [{ id }, { id: '999999999998' }],
    properties: ['email'],
    propertiesWithHistory: [],
  });
  assert.deepEqual(read.results.map((r) => r.id), [id]);
  assert.equal(read.numErrors ?? read.errors?.length ?? 0, 1);
});
