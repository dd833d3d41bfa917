import { describe, expect, it } from 'vitest';

import type { IInvite, IPresent } from '../src/models';
import {
  FakeFetch,
  apiError,
  bodyOf,
  json,
  makeClient,
  noContent,
  session,
  target
} from './fakes';

const SESSION = '/base/api/codecrafter/sessions/s1';

function signedIn(fake: FakeFetch) {
  const client = makeClient(fake);
  client.tokenSource = {
    accessToken: 'access-1',
    renew: () => Promise.resolve(null)
  };
  return client;
}

function invite(overrides: Partial<IInvite> = {}): IInvite {
  return {
    code: 'abc',
    url: 'http://jupyter.test/base/lab?codecrafter-invite=abc',
    session_id: 's1',
    role: 'write',
    created_at: '2025-01-01T00:00:00Z',
    expires_at: null,
    max_uses: null,
    uses: 0,
    revoked: false,
    ...overrides
  };
}

const collaborator = {
  user: { id: 'u2', username: 'bob', display_name: 'Bob' },
  role: 'write',
  added_at: '2025-01-01T00:00:00Z'
};

describe('CodeCrafterClient collaborators', () => {
  it('collaborators GETs /sessions/{id}/collaborators and unwraps the list', async () => {
    const fake = new FakeFetch().reply(
      json(200, { collaborators: [collaborator] })
    );
    const client = signedIn(fake);

    expect(await client.collaborators('s1')).toEqual([collaborator]);
    expect(fake.last.method).toBe('GET');
    expect(target(fake.last).path).toBe(`${SESSION}/collaborators`);
    expect(fake.last.headers.get('Authorization')).toBe('Bearer access-1');
  });

  it('setCollaboratorRole PUTs {role} to the user, escaped, and unwraps the collaborator', async () => {
    const changed = { ...collaborator, role: 'read' };
    const fake = new FakeFetch().reply(json(200, { collaborator: changed }));
    const client = signedIn(fake);

    expect(await client.setCollaboratorRole('s1', 'bo b', 'read')).toEqual(
      changed
    );
    expect(fake.last.method).toBe('PUT');
    expect(target(fake.last).path).toBe(`${SESSION}/collaborators/bo%20b`);
    expect(await bodyOf(fake.last)).toEqual({ role: 'read' });
  });

  it('removeCollaborator sends DELETE to the user and resolves on 204', async () => {
    const fake = new FakeFetch().reply(noContent());
    const client = signedIn(fake);

    await expect(client.removeCollaborator('s1', 'u2')).resolves.toBe(
      undefined
    );
    expect(fake.last.method).toBe('DELETE');
    expect(target(fake.last).path).toBe(`${SESSION}/collaborators/u2`);
  });
});

describe('CodeCrafterClient invites', () => {
  it('createInvite POSTs role, expiry and uses, nulls included, and resolves with the invite', async () => {
    const created = invite({ expires_at: '2025-01-02T00:00:00Z' });
    const fake = new FakeFetch().reply(json(201, created));
    const client = signedIn(fake);

    const request = {
      role: 'write' as const,
      expires_in: 86400,
      max_uses: null
    };
    expect(await client.createInvite('s1', request)).toEqual(created);
    expect(fake.last.method).toBe('POST');
    expect(target(fake.last).path).toBe(`${SESSION}/invites`);
    expect(await bodyOf(fake.last)).toEqual({
      role: 'write',
      expires_in: 86400,
      max_uses: null
    });
  });

  it('invites GETs the list and revokeInvite DELETEs /invites/{code}', async () => {
    const fake = new FakeFetch().reply(
      json(200, { invites: [invite()] }),
      noContent()
    );
    const client = signedIn(fake);

    expect(await client.invites('s1')).toEqual([invite()]);
    expect(target(fake.requests[0]).path).toBe(`${SESSION}/invites`);
    await client.revokeInvite('s1', 'a-b_c');
    expect(fake.last.method).toBe('DELETE');
    expect(target(fake.last).path).toBe(`${SESSION}/invites/a-b_c`);
  });

  it('join POSTs {code} to /sessions/join and resolves with the session and role', async () => {
    const reply = { session: session({ role: 'write' }), role: 'write' };
    const fake = new FakeFetch().reply(json(200, reply));
    const client = signedIn(fake);

    expect(await client.join('abc')).toEqual(reply);
    expect(fake.last.method).toBe('POST');
    expect(target(fake.last).path).toBe('/base/api/codecrafter/sessions/join');
    expect(await bodyOf(fake.last)).toEqual({ code: 'abc' });
  });

  it('join rejects with the status and message of a spent code', async () => {
    const fake = new FakeFetch().reply(
      apiError(410, 'gone', 'This invite has expired.')
    );
    const client = signedIn(fake);

    await expect(client.join('abc')).rejects.toMatchObject({
      status: 410,
      message: 'This invite has expired.'
    });
  });
});

describe('CodeCrafterClient presence and history', () => {
  it('presence GETs /sessions/{id}/presence and unwraps the people', async () => {
    const present: IPresent = {
      user_id: 'u2',
      username: 'bob',
      display_name: 'Bob',
      role: 'write',
      colour: '#aa0000',
      connections: 2
    };
    const fake = new FakeFetch().reply(json(200, { present: [present] }));
    const client = signedIn(fake);

    expect(await client.presence('s1')).toEqual([present]);
    expect(target(fake.last).path).toBe(`${SESSION}/presence`);
  });

  it('jobs GETs /sessions/{id}/jobs with limit and cursor, leaving out the unset ones', async () => {
    const page = { jobs: [], next_cursor: null };
    const fake = new FakeFetch().reply(json(200, page), json(200, page));
    const client = signedIn(fake);

    expect(await client.jobs('s1', { limit: 10, cursor: 'c1' })).toEqual(page);
    expect(target(fake.requests[0])).toEqual({
      path: `${SESSION}/jobs`,
      query: { limit: '10', cursor: 'c1' }
    });
    await client.jobs('s1');
    expect(target(fake.last).query).toEqual({});
  });
});
