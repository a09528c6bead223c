// Salesforce SOQL through jsforce: paging, date literals (and jsforce's SfDate), COUNT() and
// GROUP BY, FIELDS(STANDARD), and the replication calls getUpdated / getDeleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsforce from 'jsforce';
import { lead, salesforce, tag } from './helpers.mjs';

const { SfDate } = jsforce;
const conn = await salesforce();

async function createLeads(t, count, extra = () => ({})) {
  const ids = [];
  for (let start = 0; start < count; start += 200) {
    const batch = Array.from({ length: Math.min(200, count - start) }, (_, i) => lead(t, start + i, extra(start + i)));
    const results = await conn.sobject('Lead').create(batch, { allOrNone: true });
    assert.ok(results.every((r) => r.success), JSON.stringify(results.find((r) => !r.success)));
    ids.push(...results.map((r) => r.id));
  }
  return ids;
}

test('a query larger than one batch pages with nextRecordsUrl, queryMore and autoFetch', async () => {
  // Sforce-Query-Options: batchSize (200..2000) asks for smaller batches:
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
  const t = tag();
  const ids = await createLeads(t, 450);
  const soql = `SELECT Id, Email FROM Lead WHERE Company = '${t} Inc' ORDER BY Id`;
  const headers = { 'Sforce-Query-Options': 'batchSize=200' };

  const first = await conn.query(soql, { autoFetch: false, headers });
  assert.equal(first.totalSize, 450);
  assert.equal(first.done, false);
  assert.ok(first.nextRecordsUrl, 'a query locator');
  assert.ok(first.records.length < 450);
  const seen = [...first.records];
  let page = first;
  while (!page.done) {
    page = await conn.queryMore(page.nextRecordsUrl);
    seen.push(...page.records);
  }
  assert.deepEqual(seen.map((r) => r.Id).sort(), [...ids].sort());

  const all = await conn.query(soql, { autoFetch: true, maxFetch: 10000, headers });
  assert.equal(all.records.length, 450);
  assert.equal(new Set(all.records.map((r) => r.Id)).size, 450);
});

test('date literals TODAY and LAST_N_DAYS:n match a record created now', async () => {
  // https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
  const t = tag();
  await createLeads(t, 2);
  const where = `Company = '${t} Inc'`;
  const count = async (condition) =>
    (await conn.query(`SELECT COUNT() FROM Lead WHERE ${where} AND ${condition}`)).totalSize;
  assert.equal(await count('CreatedDate = TODAY'), 2);
  assert.equal(await count('CreatedDate = LAST_N_DAYS:7'), 2);
  assert.equal(await count('CreatedDate < LAST_N_DAYS:7'), 0);
  assert.equal(await count('CreatedDate > YESTERDAY'), 2);
  assert.equal(await count('CreatedDate = LAST_WEEK'), 0);
  assert.equal(await count('CreatedDate = NEXT_N_DAYS:3'), 0);
});

test('jsforce SfDate literals and date-time values build queries Salesforce accepts', async () => {
  const t = tag();
  const before = new Date(Date.now() - 60 * 60 * 1000);
  await createLeads(t, 3);
  const leads = conn.sobject('Lead');
  const today = await leads.find({ Company: `${t} Inc`, CreatedDate: SfDate.TODAY }, ['Id']);
  assert.equal(today.length, 3);
  const recent = await leads.find({ Company: `${t} Inc`, CreatedDate: SfDate.LAST_N_DAYS(2) }, ['Id']);
  assert.equal(recent.length, 3);
  const since = await leads.find(
    { Company: `${t} Inc`, CreatedDate: { $gte: SfDate.toDateTimeLiteral(before) } },
    ['Id', 'CreatedDate'],
  );
  assert.equal(since.length, 3);
  assert.ok(new Date(since[0].CreatedDate) >= before, 'CreatedDate parses as a date');
  const later = await leads.find(
    { Company: `${t} Inc`, CreatedDate: { $gt: SfDate.toDateTimeLiteral(new Date(Date.now() + 3600e3)) } },
    ['Id'],
  );
  assert.equal(later.length, 0);
});

test('SELECT COUNT() answers totalSize with no records', async () => {
  const t = tag();
  await createLeads(t, 4);
  const result = await conn.query(`SELECT COUNT() FROM Lead WHERE Company = '${t} Inc'`);
  assert.equal(result.totalSize, 4);
  assert.equal(result.done, true);
  assert.deepEqual(result.records, []);
});

test('COUNT(Id) with GROUP BY answers AggregateResult rows, expr0 or the alias', async () => {
  // https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_groupby.htm
  // Aliases on grouped fields and aggregates: "Using Aliases with GROUP BY",
  // https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_groupby_alias.htm
  const t = tag();
  await createLeads(t, 5, (i) => ({ LeadSource: i < 3 ? 'Web' : 'Other' }));
  const soql = `SELECT LeadSource, COUNT(Id) FROM Lead WHERE Company = '${t} Inc' GROUP BY LeadSource`;
  const result = await conn.query(soql);
  assert.equal(result.records.length, 2);
  assert.equal(result.records[0].attributes.type, 'AggregateResult');
  const counts = Object.fromEntries(result.records.map((r) => [r.LeadSource, r.expr0]));
  assert.deepEqual(counts, { Web: 3, Other: 2 });

  const aliased = await conn.query(
    `SELECT LeadSource source, COUNT(Id) n FROM Lead WHERE Company = '${t} Inc' GROUP BY LeadSource ORDER BY COUNT(Id) DESC`,
  );
  assert.deepEqual(
    aliased.records.map((r) => [r.source, r.n]),
    [
      ['Web', 3],
      ['Other', 2],
    ],
  );
});

test('FIELDS(STANDARD) selects the standard fields, not the custom ones', async () => {
  // https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_fields.htm
  const t = tag();
  const [id] = await createLeads(t, 1, () => ({ HubSpot_Id__c: t }));
  const result = await conn.query(`SELECT FIELDS(STANDARD) FROM Lead WHERE Id = '${id}'`);
  assert.equal(result.records.length, 1);
  const [record] = result.records;
  for (const field of ['Id', 'Name', 'LastName', 'Email', 'Company', 'OwnerId', 'CreatedDate', 'Street', 'Website']) {
    assert.ok(field in record, `${field} selected`);
  }
  assert.equal(record.Email, `${t}.0@example.com`);
  assert.ok(!('HubSpot_Id__c' in record), 'a custom field is not standard');
});

test('getUpdated lists the ids changed in the window; getDeleted the ids deleted in it', async () => {
  // Seconds are ignored in start and end; results cover at most the last 30 days:
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
  // https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
  const t = tag();
  const start = new Date(Date.now() - 5 * 60 * 1000);
  const [kept, removed] = await createLeads(t, 2);
  await conn.sobject('Lead').destroy(removed);
  const end = new Date(Date.now() + 2 * 60 * 1000);

  const updated = await conn.sobject('Lead').updated(start, end);
  assert.ok(updated.ids.includes(kept), 'the created record is in the updated ids');
  assert.ok(!updated.ids.includes(removed), 'a deleted record is not');
  assert.ok(updated.latestDateCovered, 'latestDateCovered');

  const deleted = await conn.sobject('Lead').deleted(start, end);
  const entry = deleted.deletedRecords.find((r) => r.id === removed);
  assert.ok(entry, 'the deleted record is listed');
  assert.ok(new Date(entry.deletedDate) >= new Date(start.getTime() - 60e3));
  assert.ok(deleted.earliestDateAvailable && deleted.latestDateCovered);
});

test('Email IN (...), ORDER BY and LIMIT select and order what the sync asks for', async () => {
  const t = tag();
  await createLeads(t, 4);
  const emails = [0, 2, 3].map((i) => `'${t}.${i}@example.com'`).join(', ');
  const result = await conn.query(`SELECT Id, Email FROM Lead WHERE Email IN (${emails}) ORDER BY Email DESC LIMIT 2`);
  assert.deepEqual(
    result.records.map((r) => r.Email),
    [`${t}.3@example.com`, `${t}.2@example.com`],
  );
});

test('a SystemModstamp cursor pages through changes in SystemModstamp, Id order', async () => {
  const t = tag();
  const ids = await createLeads(t, 5);
  const where = `Company = '${t} Inc'`;
  const seen = [];
  let cursor = null;
  for (let pages = 0; pages < 10; pages += 1) {
    const condition = cursor
      ? ` AND (SystemModstamp > ${cursor.stamp} OR (SystemModstamp = ${cursor.stamp} AND Id > '${cursor.id}'))`
      : '';
    const page = await conn.query(
      `SELECT Id, SystemModstamp FROM Lead WHERE ${where}${condition} ORDER BY SystemModstamp, Id LIMIT 2`,
    );
    if (page.records.length === 0) break;
    seen.push(...page.records.map((r) => r.Id));
    const last = page.records.at(-1);
    // The value as returned, as an unquoted ISO 8601 literal (milliseconds are optional in it):
    // https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
    cursor = { stamp: new Date(last.SystemModstamp).toISOString(), id: last.Id };
  }
  assert.deepEqual([...seen].sort(), [...ids].sort());
  assert.equal(new Set(seen).size, 5, 'no record twice');
});

// todo: runs and reports, without failing the suite, until the emulator answers whole seconds
// (it answers the milliseconds of the write today).
test('system datetimes come back in whole seconds, as Salesforce stores them', { todo: 'emulator keeps milliseconds' }, async () => {
  // Salesforce keeps dateTime values to the second: the API answers ".000" milliseconds, so a
  // cursor built with jsforce's SfDate.toDateTimeLiteral (seconds only) loses nothing.
  const t = tag();
  const [id] = await createLeads(t, 1);
  const [record] = (await conn.query(`SELECT CreatedDate, SystemModstamp, LastModifiedDate FROM Lead WHERE Id = '${id}'`))
    .records;
  for (const field of ['CreatedDate', 'SystemModstamp', 'LastModifiedDate']) {
    assert.match(record[field], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$/, `${field} = ${record[field]}`);
  }
});

test('the org answers its users and the active Lead assignment rule', async () => {
  const users = await conn.query('SELECT Id, Email, IsActive FROM User');
  assert.ok(users.records.length >= 1);
  assert.ok(users.records.every((u) => /^005/.test(u.Id) && typeof u.IsActive === 'boolean'));
  const rules = await conn.query("SELECT Id FROM AssignmentRule WHERE SobjectType = 'Lead' AND Active = true LIMIT 1");
  assert.ok(rules.totalSize <= 1);
});

test('queryAll sees deleted records with IsDeleted; query does not', async () => {
  const t = tag();
  const [id] = await createLeads(t, 1);
  await conn.sobject('Lead').destroy(id);
  const soql = `SELECT Id, IsDeleted FROM Lead WHERE Id = '${id}'`;
  assert.equal((await conn.query(soql)).totalSize, 0);
  const all = await conn.query(soql, { scanAll: true });
  assert.deepEqual(
    all.records.map((r) => [r.Id, r.IsDeleted]),
    [[id, true]],
  );
});
