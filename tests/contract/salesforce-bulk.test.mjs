// Salesforce Bulk API 2.0 through jsforce: ingest with results, query, abort and the unprocessed
// records of an aborted job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lead, salesforce, tag } from './helpers.mjs';

const conn = await salesforce();
const POLL = { pollInterval: 200, pollTimeout: 30000 };

function records(stream) {
  return new Promise((resolve, reject) => {
    const rows = [];
    stream.on('record', (row) => rows.push(row));
    stream.on('end', () => resolve(rows));
    stream.on('error', reject);
  });
}

test('a Bulk 2.0 insert job ends JobComplete with successful and failed results', async () => {
  // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm
  const t = tag();
  const input = [lead(t, 1), lead(t, 2), { FirstName: 'No', Company: `${t} Inc`, Email: `${t}.x@example.com` }];
  const results = await conn.bulk2.loadAndWaitForResults({ object: 'Lead', operation: 'insert', input, ...POLL });
  assert.equal(results.successfulResults.length, 2);
  for (const row of results.successfulResults) {
    assert.match(row.sf__Id, /^00Q\w{15}$/);
    assert.equal(row.sf__Created, 'true');
  }
  assert.deepEqual(results.successfulResults.map((r) => r.Email).sort(), [`${t}.1@example.com`, `${t}.2@example.com`]);
  assert.equal(results.failedResults.length, 1);
  assert.match(results.failedResults[0].sf__Error, /REQUIRED_FIELD_MISSING/);
  assert.equal(results.failedResults[0].Email, `${t}.x@example.com`);
  assert.deepEqual(results.unprocessedRecords, []);
});

test('a Bulk 2.0 upsert job matches on the external id', async () => {
  const t = tag();
  const first = await conn.bulk2.loadAndWaitForResults({
    object: 'Lead',
    operation: 'upsert',
    externalIdFieldName: 'HubSpot_Id__c',
    input: [lead(t, 1, { HubSpot_Id__c: `${t}a` })],
    ...POLL,
  });
  assert.equal(first.successfulResults[0].sf__Created, 'true');
  const second = await conn.bulk2.loadAndWaitForResults({
    object: 'Lead',
    operation: 'upsert',
    externalIdFieldName: 'HubSpot_Id__c',
    input: [{ HubSpot_Id__c: `${t}a`, Title: 'Bulk' }],
    ...POLL,
  });
  assert.equal(second.successfulResults[0].sf__Created, 'false');
  assert.equal(second.successfulResults[0].sf__Id, first.successfulResults[0].sf__Id);
  const record = await conn.sobject('Lead').retrieve(first.successfulResults[0].sf__Id);
  assert.equal(record.Title, 'Bulk');
});

test('an ingest job aborted before processing is Aborted, and its rows are unprocessed records', async () => {
  // Unprocessed records: "a list of unprocessed records for failed or aborted jobs":
  // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_unprocessed_results.htm
  const t = tag();
  const job = conn.bulk2.createJob({ object: 'Lead', operation: 'insert' });
  await job.open();
  assert.equal(job.getInfo().state, 'Open');
  await job.uploadData([lead(t, 1), lead(t, 2)]);
  await job.abort();
  const info = await job.check();
  assert.equal(info.state, 'Aborted');
  const unprocessed = await job.getUnprocessedRecords();
  assert.deepEqual(unprocessed.map((r) => r.Email).sort(), [`${t}.1@example.com`, `${t}.2@example.com`]);
  const count = await conn.query(`SELECT COUNT() FROM Lead WHERE Company = '${t} Inc'`);
  assert.equal(count.totalSize, 0, 'an aborted job saves nothing');
});

test('a Bulk 2.0 query job returns every matching record as CSV rows', async () => {
  // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
  const t = tag();
  const created = await conn.sobject('Lead').create([lead(t, 1), lead(t, 2), lead(t, 3)], { allOrNone: true });
  const stream = await conn.bulk2.query(`SELECT Id, Email FROM Lead WHERE Company = '${t} Inc'`, POLL);
  const rows = await records(stream);
  assert.deepEqual(rows.map((r) => r.Id).sort(), created.map((r) => r.id).sort());
  assert.ok(rows.every((r) => r.Email.startsWith(`${t}.`)));
});

test('the ingest job list includes a job just created', async () => {
  const job = conn.bulk2.createJob({ object: 'Lead', operation: 'insert' });
  await job.open();
  const listed = await conn.request(`/services/data/v${conn.version}/jobs/ingest`);
  assert.ok(listed.records.some((r) => r.id === job.id));
  await job.abort();
  await job.delete();
});

test('an ingest job whose CSV names an unknown field fails with InvalidBatch', async () => {
  // https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_csv_valid_record_rows.htm
  const t = tag();
  const error = await (async () => {
    try {
      await conn.bulk2.loadAndWaitForResults({
        object: 'Lead',
        operation: 'insert',
        input: `LastName,Company,NoSuchField__c\n${t},${t} Inc,1\n`,
        ...POLL,
      });
    } catch (caught) {
      return caught;
    }
    throw new Error('expected the job to fail');
  })();
  assert.match(error.message, /InvalidBatch : Field name not found : NoSuchField__c/);
  const count = await conn.query(`SELECT COUNT() FROM Lead WHERE Company = '${t} Inc'`);
  assert.equal(count.totalSize, 0);
});

test('a Bulk 2.0 delete job removes the records by Id', async () => {
  const t = tag();
  const created = await conn.sobject('Lead').create([lead(t, 1), lead(t, 2)], { allOrNone: true });
  const results = await conn.bulk2.loadAndWaitForResults({
    object: 'Lead',
    operation: 'delete',
    input: created.map((r) => ({ Id: r.id })),
    ...POLL,
  });
  assert.deepEqual(results.successfulResults.map((r) => r.sf__Id).sort(), created.map((r) => r.id).sort());
  const count = await conn.query(`SELECT COUNT() FROM Lead WHERE Company = '${t} Inc'`);
  assert.equal(count.totalSize, 0);
});
