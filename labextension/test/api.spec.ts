import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  API,
  FakeFetch,
  apiError,
  authReply,
  bodyOf,
  json,
  makeClient,
  noContent,
  session,
  target
} from './fakes';

function signedIn(
  fake: FakeFetch,
  token = 'access-1',
  renewed: string | null = 'access-2'
) {
  const client = makeClient(fake);
  const source = {
    accessToken: token as string | null,
    renew: vi.fn(() => {
      source.accessToken = renewed;
      return Promise.resolve(renewed);
    })
  };
  client.tokenSource = source;
  return { client, source };
}

describe('CodeCrafterClient requests', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('login POSTs the credentials as JSON to /api/codecrafter/auth/login and asks for the refresh cookie', async () => {
    const fake = new FakeFetch().reply(authReply('access-1'));
    const reply = await makeClient(fake).login({
      login: 'ada',
      password: 'pw'
    });

    expect(reply.access_token).toBe('access-1');
    expect(fake.last.method).toBe('POST');
    expect(fake.last.url).toBe(`${API}/auth/login`);
    expect(fake.last.headers.get('Content-Type')).toBe('application/json');
    expect(await bodyOf(fake.last)).toEqual({
      login: 'ada',
      password: 'pw',
      refresh_cookie: true
    });
  });

  it('register POSTs username, email and password and asks for the refresh cookie', async () => {
    const fake = new FakeFetch().reply(authReply('access-1'));
    await makeClient(fake).register({
      username: 'ada',
      email: 'ada@example.org',
      password: 'secret12'
    });

    expect(target(fake.last).path).toBe('/base/api/codecrafter/auth/register');
    expect(await bodyOf(fake.last)).toEqual({
      username: 'ada',
      email: 'ada@example.org',
      password: 'secret12',
      refresh_cookie: true
    });
  });

  it('refresh and logout send an empty JSON body and no Authorization header at all', async () => {
    const fake = new FakeFetch().reply(authReply('access-1'), noContent());
    const { client } = signedIn(fake);
    await client.refresh();
    await client.logout();

    const [refresh, logout] = fake.requests;
    expect(target(refresh).path).toBe('/base/api/codecrafter/auth/refresh');
    expect(target(logout).path).toBe('/base/api/codecrafter/auth/logout');
    for (const request of fake.requests) {
      expect(request.method).toBe('POST');
      expect(await bodyOf(request)).toEqual({});
      expect(request.headers.get('Authorization')).toBeNull();
    }
  });

  it("refresh goes through makeRequest, which adds Jupyter's XSRF token from the _xsrf cookie", async () => {
    const fake = new FakeFetch().reply(authReply('access-1'));
    const client = makeClient(fake);
    // Only the cookie is read at request time; a full document would bring a DOM.
    vi.stubGlobal('document', { cookie: 'other=1; _xsrf=xsrf-value' });
    await client.refresh();

    expect(fake.last.headers.get('X-XSRFToken')).toBe('xsrf-value');
  });

  it("session calls carry the access token as a Bearer header, never Jupyter's own token", async () => {
    const fake = new FakeFetch().reply(json(200, { user: { id: 'u1' } }));
    const { client } = signedIn(fake, 'access-1');
    await client.profile();

    expect(target(fake.last).path).toBe('/base/api/codecrafter/auth/profile');
    expect(fake.last.headers.get('Authorization')).toBe('Bearer access-1');
  });

  it('listSessions sends scope, q, limit and cursor as query parameters and leaves out the unset ones', async () => {
    const page = { sessions: [session()], next_cursor: 'c2' };
    const fake = new FakeFetch().reply(json(200, page), json(200, page));
    const { client } = signedIn(fake);

    expect(
      await client.listSessions({
        scope: 'shared',
        q: 'intro',
        limit: 5,
        cursor: 'c1'
      })
    ).toEqual(page);
    expect(target(fake.requests[0])).toEqual({
      path: '/base/api/codecrafter/sessions',
      query: { scope: 'shared', q: 'intro', limit: '5', cursor: 'c1' }
    });

    await client.listSessions({ scope: 'mine', q: '' });
    expect(target(fake.last).query).toEqual({ scope: 'mine' });
  });

  it('createSession POSTs the request and resolves with the created session', async () => {
    const created = session({ kind: 'file', title: 'Notes' });
    const fake = new FakeFetch().reply(json(201, { session: created }));
    const { client } = signedIn(fake);

    const request = {
      title: 'Notes',
      kind: 'file' as const,
      language: 'python',
      content: 'x = 1\n'
    };
    expect(await client.createSession(request)).toEqual(created);
    expect(fake.last.method).toBe('POST');
    expect(target(fake.last).path).toBe('/base/api/codecrafter/sessions');
    expect(await bodyOf(fake.last)).toEqual(request);
  });

  it('updateSession PUTs only the given changes to /sessions/{id}, with the id escaped', async () => {
    const fake = new FakeFetch().reply(
      json(200, { session: session({ title: 'New' }) })
    );
    const { client } = signedIn(fake);

    expect((await client.updateSession('a b', { title: 'New' })).title).toBe(
      'New'
    );
    expect(fake.last.method).toBe('PUT');
    expect(target(fake.last).path).toBe('/base/api/codecrafter/sessions/a%20b');
    expect(await bodyOf(fake.last)).toEqual({ title: 'New' });
  });

  it('forkSession POSTs to /sessions/{id}/fork and getSession GETs /sessions/{id}', async () => {
    const detail = { session: session(), collaborators: [] };
    const fake = new FakeFetch().reply(
      json(201, { session: session({ id: 's2' }) }),
      json(200, detail)
    );
    const { client } = signedIn(fake);

    expect((await client.forkSession('s1', { title: 'Mine now' })).id).toBe(
      's2'
    );
    expect(target(fake.requests[0]).path).toBe(
      '/base/api/codecrafter/sessions/s1/fork'
    );
    expect(await bodyOf(fake.requests[0])).toEqual({ title: 'Mine now' });
    expect(await client.getSession('s1')).toEqual(detail);
    expect(fake.last.method).toBe('GET');
  });

  it('deleteSession sends DELETE and resolves on 204 without reading a body', async () => {
    const fake = new FakeFetch().reply(noContent());
    const { client } = signedIn(fake);

    await expect(client.deleteSession('s1')).resolves.toBeUndefined();
    expect(fake.last.method).toBe('DELETE');
    expect(target(fake.last).path).toBe('/base/api/codecrafter/sessions/s1');
  });
});

describe('CodeCrafterClient renewal on token_expired', () => {
  it('renews the token once and retries the request with the new one', async () => {
    const page = { sessions: [], next_cursor: null };
    const fake = new FakeFetch().reply(
      apiError(401, 'token_expired'),
      json(200, page)
    );
    const { client, source } = signedIn(fake, 'old', 'new');

    expect(await client.listSessions()).toEqual(page);
    expect(source.renew).toHaveBeenCalledTimes(1);
    expect(fake.requests.map(r => r.headers.get('Authorization'))).toEqual([
      'Bearer old',
      'Bearer new'
    ]);
  });

  it('a retried request is sent with the same method and body', async () => {
    const fake = new FakeFetch().reply(
      apiError(401, 'token_expired'),
      json(200, { session: session() })
    );
    const { client } = signedIn(fake);

    await client.updateSession('s1', { is_public: true });
    expect(fake.requests.map(r => r.method)).toEqual(['PUT', 'PUT']);
    expect(await bodyOf(fake.last)).toEqual({ is_public: true });
  });

  it('does not retry a second time when the retry is refused too', async () => {
    const fake = new FakeFetch().reply(
      apiError(401, 'token_expired'),
      apiError(401, 'token_expired')
    );
    const { client, source } = signedIn(fake);

    await expect(client.listSessions()).rejects.toMatchObject({
      status: 401,
      code: 'token_expired'
    });
    expect(source.renew).toHaveBeenCalledTimes(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('throws the 401 without retrying when the renewal fails', async () => {
    const fake = new FakeFetch().reply(apiError(401, 'token_expired'));
    const { client } = signedIn(fake, 'old', null);

    await expect(client.deleteSession('s1')).rejects.toMatchObject({
      code: 'token_expired'
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('does not renew on a 401 other than token_expired', async () => {
    const fake = new FakeFetch().reply(apiError(401, 'invalid_token'));
    const { client, source } = signedIn(fake);

    await expect(client.profile()).rejects.toMatchObject({
      code: 'invalid_token'
    });
    expect(source.renew).not.toHaveBeenCalled();
  });

  it('never renews for the token endpoints themselves', async () => {
    const fake = new FakeFetch().reply(apiError(401, 'token_expired'));
    const { client, source } = signedIn(fake);

    await expect(client.refresh()).rejects.toMatchObject({
      code: 'token_expired'
    });
    expect(source.renew).not.toHaveBeenCalled();
  });
});
