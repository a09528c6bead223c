// What the contract checks share: the emulators' URLs (from the environment), clients logged in
// the way a real integration logs in, a unique tag per check, and the emulators' control calls.
//
// Run by tests/sandbox/test_client_contract.py, which starts the emulators over HTTPS and sets
// SALESFORCE_URL, HUBSPOT_URL, HUBSPOT_LIMITED_URL and NODE_EXTRA_CA_CERTS (their certificate).
// The files run concurrently against the same emulators: every check works on records it
// created, found through a tag of its own, and never resets an emulator.
import { randomBytes } from 'node:crypto';
import jsforce from 'jsforce';
import hubspot from '@hubspot/api-client';

export const API_VERSION = '62.0';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suite through tests/sandbox/test_client_contract.py`);
  }
  return value.replace(/\/+$/, '');
}

export const SALESFORCE_URL = required('SALESFORCE_URL');
export const HUBSPOT_URL = required('HUBSPOT_URL');
export const HUBSPOT_LIMITED_URL = required('HUBSPOT_LIMITED_URL');

/** A short tag unique to one check (letters and digits: safe in SOQL strings and emails). */
export function tag(prefix = 't') {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** jsforce logged in with OAuth 2.0 client credentials, as a connected app does. */
export async function salesforce() {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: SALESFORCE_URL, clientId: 'contract-suite', clientSecret: 'contract-secret' },
    version: API_VERSION,
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

/** A Lead with every required field, tagged for the check that creates it. */
export function lead(tagValue, i = 0, extra = {}) {
  return {
    FirstName: `F${i}`,
    LastName: `${tagValue}L${i}`,
    Company: `${tagValue} Inc`,
    Email: `${tagValue}.${i}@example.com`,
    ...extra,
  };
}

/** The @hubspot/api-client on the emulator at `basePath` (the private app token is any string). */
export function hubspotClient(options = {}, basePath = HUBSPOT_URL) {
  return new hubspot.Client({ accessToken: 'sandbox', basePath, ...options });
}

/** A call to an emulator's `/_sandbox/` control endpoints (not part of any contract). */
export async function control(baseUrl, method, path, body) {
  const response = await fetch(baseUrl + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** The error a promise rejects with (fails the check when it resolves). */
export async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, it succeeded');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The 18-character form of a 15-character Salesforce id: the suffix encodes the case of each
 * five characters (https://help.salesforce.com/s/articleView?id=000385585&type=1). */
export function eighteen(id15) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let i = 0; i < 5; i += 1) {
      const c = id15[chunk * 5 + i];
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += alphabet[bits];
  }
  return id15 + suffix;
}
