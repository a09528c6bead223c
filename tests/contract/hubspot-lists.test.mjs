// HubSpot Lists v3 through @hubspot/api-client: a static (MANUAL) contact list created, fetched,
// found by search, and its memberships added, paged and removed.
// https://developers.hubspot.com/docs/guides/api/crm/lists/overview
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hubspotClient, rejection, tag } from './helpers.mjs';

const client = hubspotClient();
const CONTACT = '0-1';

async function newContacts(t, count) {
  const inputs = Array.from({ length: count }, (_, i) => ({
    properties: { email: `${t}.${i}@example.com`, lastname: t },
    associations: [],
  }));
  return (await client.crm.contacts.batchApi.create({ inputs })).results.map((r) => r.id);
}

test('a MANUAL contact list is created, fetched by id and by name, and found by search', async () => {
  const name = tag('Contract list ');
  const created = await client.crm.lists.listsApi.create({ name, objectTypeId: CONTACT, processingType: 'MANUAL' });
  const { list } = created;
  assert.match(list.listId, /^\d+$/);
  assert.equal(list.name, name);
  assert.equal(list.processingType, 'MANUAL');
  assert.equal(list.objectTypeId, CONTACT);

  const byId = await client.crm.lists.listsApi.getById(list.listId);
  assert.equal(byId.list.name, name);
  const byName = await client.crm.lists.listsApi.getByName(name, CONTACT);
  assert.equal(byName.list.listId, list.listId);

  const found = await client.crm.lists.listsApi.doSearch({ query: name, processingTypes: ['MANUAL'] });
  assert.ok(found.lists.some((l) => l.listId === list.listId), 'search finds the list by its name');
  assert.ok(typeof found.hasMore === 'boolean');
});

test('memberships: records are added, paged in order and removed; unknown ids are reported missing', async () => {
  const t = tag();
  const { list } = await client.crm.lists.listsApi.create({ name: tag('Members '), objectTypeId: CONTACT, processingType: 'MANUAL' });
  const ids = await newContacts(t, 5);

  const added = await client.crm.lists.membershipsApi.add(list.listId, [...ids, '999999999997']);
  // HubSpot spells the added ids "recordsIdsAdded" (crm-lists-v3's MembershipsUpdateResponse).
  assert.deepEqual([...added.recordsIdsAdded].sort(), [...ids].sort());
  assert.deepEqual(added.recordIdsMissing, ['999999999997']);

  const members = [];
  let after;
  do {
    const page = await client.crm.lists.membershipsApi.getPage(list.listId, after, undefined, 2);
    assert.ok(page.results.length <= 2);
    members.push(...page.results.map((r) => r.recordId));
    after = page.paging?.next?.after;
  } while (after);
  assert.deepEqual(members.sort(), [...ids].sort());

  const removed = await client.crm.lists.membershipsApi.remove(list.listId, ids.slice(0, 2));
  assert.deepEqual([...removed.recordIdsRemoved].sort(), ids.slice(0, 2).sort());
  const left = await client.crm.lists.membershipsApi.getPage(list.listId, undefined, undefined, 100);
  assert.deepEqual(left.results.map((r) => r.recordId).sort(), ids.slice(2).sort());

  const lists = await client.crm.lists.membershipsApi.getLists(CONTACT, ids[2]);
  assert.ok(lists.results.some((r) => String(r.listId) === String(list.listId)), 'the record knows its list');
});

test('a list that does not exist is 404; a second list with the same name is 400 or 409', async () => {
  const missing = await rejection(client.crm.lists.listsApi.getById('999999999'));
  assert.equal(missing.code, 404);
  const name = tag('Twice ');
  await client.crm.lists.listsApi.create({ name, objectTypeId: CONTACT, processingType: 'MANUAL' });
  const twice = await rejection(client.crm.lists.listsApi.create({ name, objectTypeId: CONTACT, processingType: 'MANUAL' }));
  assert.ok([400, 409].includes(twice.code), `status ${twice.code}`);
});

test('a list is renamed, deleted (then 404) and restored', async () => {
  const lists = client.crm.lists.listsApi;
  const { list } = await lists.create({ name: tag('Rename '), objectTypeId: CONTACT, processingType: 'MANUAL' });
  const renamed = tag('Renamed ');
  const updated = await lists.updateName(list.listId, renamed);
  assert.equal(updated.updatedList.name, renamed);
  await lists.remove(list.listId);
  const gone = await rejection(lists.getById(list.listId));
  assert.equal(gone.code, 404);
  await lists.restore(list.listId);
  assert.equal((await lists.getById(list.listId)).list.name, renamed);
});

const sleepMs = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function processed(listId) {
  // A DYNAMIC list processes after a change of definition: PROCESSING, then COMPLETE.
  for (let i = 0; i < 100; i += 1) {
    const { list } = await client.crm.lists.listsApi.getById(listId, true);
    if (list.processingStatus === 'COMPLETE') return list;
    await sleepMs(100);
  }
  throw new Error(`list ${listId} still processing`);
}

async function members(listId) {
  const page = await client.crm.lists.membershipsApi.getPage(listId, undefined, undefined, 250);
  return page.results.map((r) => r.recordId).sort();
}

const lastnameIs = (value) => ({
  filterBranchType: 'OR',
  filters: [],
  filterBranches: [
    {
      filterBranchType: 'AND',
      filterBranches: [],
      filters: [
        {
          filterType: 'PROPERTY',
          property: 'lastname',
          operation: { operationType: 'MULTISTRING', operator: 'IS_EQUAL_TO', values: [value] },
        },
      ],
    },
  ],
});

test('a DYNAMIC list holds the contacts its filters match, and follows an update of its filters', async () => {
  // https://developers.hubspot.com/docs/guides/api/crm/lists/lists-filters
  const t = tag();
  const u = tag();
  const first = await newContacts(t, 3);
  const second = await newContacts(u, 2);
  const lists = client.crm.lists.listsApi;
  const { list } = await lists.create({
    name: tag('Dynamic '),
    objectTypeId: CONTACT,
    processingType: 'DYNAMIC',
    filterBranch: lastnameIs(t),
  });
  assert.equal(list.processingType, 'DYNAMIC');
  const done = await processed(list.listId);
  assert.equal(done.filterBranch.filterBranchType, 'OR');
  assert.deepEqual(await members(list.listId), [...first].sort());

  const updated = await lists.updateListFilters(list.listId, { filterBranch: lastnameIs(u) });
  assert.equal(updated.updatedList.listId, list.listId);
  await processed(list.listId);
  assert.deepEqual(await members(list.listId), [...second].sort());

  const manual = await rejection(client.crm.lists.membershipsApi.add(list.listId, first));
  assert.equal(manual.code, 400, 'records are not added by hand to a DYNAMIC list');
});
