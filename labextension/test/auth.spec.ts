import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  AuthManager,
  type AuthState,
  EXPIRED_REASON,
  renewalDelayS
} from '../src/auth';
import {
  FakeFetch,
  apiError,
  authReply,
  json,
  makeClient,
  noContent,
  target
} from './fakes';

function setUp(refreshMarginS = 60) {
  const fake = new FakeFetch();
  const auth = new AuthManager({ client: makeClient(fake), refreshMarginS });
  const states: AuthState[] = [];
  auth.stateChanged.connect((_, state) => states.push(state));
  const refreshes = () =>
    fake.requests.filter(r => target(r).path.endsWith('/auth/refresh')).length;
  return { fake, auth, states, refreshes };
}

describe('AuthManager sign-in', () => {
  it('restore() spends the refresh cookie and signs in with the user it answers', async () => {
    const { fake, auth, states } = setUp();
    fake.reply(authReply('access-1'));

    const state = await auth.restore();
    expect(state).toMatchObject({
      status: 'signed-in',
      user: { username: 'ada' }
    });
    expect(states).toEqual([state]);
    expect(auth.accessToken).toBe('access-1');
    expect(target(fake.last).path).toBe('/base/api/codecrafter/auth/refresh');
    auth.dispose();
  });

  it('restore() answered 401 stays signed out, with no reason to show', async () => {
    const { fake, auth } = setUp();
    fake.reply(
      apiError(401, 'invalid_token', 'No refresh token: sign in first.')
    );

    expect(await auth.restore()).toEqual({
      status: 'signed-out',
      reason: null
    });
    expect(auth.accessToken).toBeNull();
  });

  it('restore() that cannot reach the server is signed out with the reason', async () => {
    const { fake, auth } = setUp();
    fake.reply(new TypeError('Failed to fetch'));

    const state = await auth.restore();
    expect(state.status).toBe('signed-out');
    expect(state.status === 'signed-out' && state.reason).toMatch(
      /^Could not restore your sign-in: Could not reach the server/
    );
  });

  it('signIn() keeps the access token in memory and sends it on API calls', async () => {
    const { fake, auth } = setUp();
    fake.reply(
      authReply('access-1'),
      json(200, { sessions: [], next_cursor: null })
    );

    const user = await auth.signIn({ login: 'ada', password: 'secret12' });
    await auth.client.listSessions();
    expect(user.username).toBe('ada');
    expect(fake.last.headers.get('Authorization')).toBe('Bearer access-1');
    auth.dispose();
  });

  it('a failed signIn() rejects with the API error and stays signed out', async () => {
    const { fake, auth, states } = setUp();
    fake.reply(
      apiError(401, 'invalid_credentials', 'Invalid login or password.')
    );

    await expect(
      auth.signIn({ login: 'ada', password: 'nope' })
    ).rejects.toMatchObject({
      message: 'Invalid login or password.'
    });
    expect(auth.state.status).toBe('signed-out');
    expect(states).toEqual([]);
  });

  it('signOut() forgets the token at once, then tells the server', async () => {
    const { fake, auth, states } = setUp();
    fake.reply(authReply('access-1'), noContent());
    await auth.signIn({ login: 'ada', password: 'secret12' });

    const done = auth.signOut();
    expect(auth.accessToken).toBeNull();
    expect(auth.state).toEqual({ status: 'signed-out', reason: null });
    await done;
    expect(target(fake.last).path).toBe('/base/api/codecrafter/auth/logout');
    expect(states.map(s => s.status)).toEqual(['signed-in', 'signed-out']);
  });
});

describe('AuthManager renewal', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('renews expires_in minus the margin after each token, and uses the new token', async () => {
    const { fake, auth, refreshes } = setUp(60);
    fake.reply(
      authReply('access-1', 900),
      authReply('access-2', 900),
      authReply('access-3', 900)
    );
    await auth.signIn({ login: 'ada', password: 'secret12' });

    await vi.advanceTimersByTimeAsync(839_999);
    expect(refreshes()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(refreshes()).toBe(1);
    expect(auth.accessToken).toBe('access-2');

    await vi.advanceTimersByTimeAsync(840_000);
    expect(refreshes()).toBe(2);
    expect(auth.accessToken).toBe('access-3');
    auth.dispose();
  });

  it('reads the margin when it schedules, so a changed setting applies to the next renewal', async () => {
    const { fake, auth, refreshes } = setUp(60);
    fake.reply(authReply('access-1', 900), authReply('access-2', 900));
    auth.refreshMarginS = 300;
    await auth.signIn({ login: 'ada', password: 'secret12' });

    await vi.advanceTimersByTimeAsync(600_000);
    expect(refreshes()).toBe(1);
    auth.dispose();
  });

  it('a margin longer than the lifetime renews at half the lifetime instead of in a loop', () => {
    expect(renewalDelayS(900, 60)).toBe(840);
    expect(renewalDelayS(60, 300)).toBe(30);
  });

  it('a renewal refused with 401 signs out with the reason the panel shows', async () => {
    const { fake, auth, states } = setUp(60);
    fake.reply(authReply('access-1', 900), apiError(401, 'token_reused'));
    await auth.signIn({ login: 'ada', password: 'secret12' });

    await vi.advanceTimersByTimeAsync(840_000);
    expect(auth.state).toEqual({
      status: 'signed-out',
      reason: EXPIRED_REASON
    });
    expect(EXPIRED_REASON).toBe('Your sign-in expired: sign in again.');
    expect(auth.accessToken).toBeNull();
    expect(states.at(-1)).toEqual(auth.state);
  });

  it('a renewal that fails otherwise signs out and says why', async () => {
    const { fake, auth } = setUp(60);
    fake.reply(
      authReply('access-1', 900),
      apiError(503, 'store_error', 'The data store failed.')
    );
    await auth.signIn({ login: 'ada', password: 'secret12' });

    await vi.advanceTimersByTimeAsync(840_000);
    expect(auth.state).toEqual({
      status: 'signed-out',
      reason:
        'Could not renew your sign-in (The data store failed.): sign in again.'
    });
  });

  it('after sign-out no renewal is scheduled', async () => {
    const { fake, auth, refreshes } = setUp(60);
    fake.reply(authReply('access-1', 900), noContent());
    await auth.signIn({ login: 'ada', password: 'secret12' });
    await auth.signOut();

    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(refreshes()).toBe(0);
  });

  it('concurrent renew() calls share one refresh request', async () => {
    const { fake, auth, refreshes } = setUp(60);
    fake.reply(authReply('access-1', 900), authReply('access-2', 900));
    await auth.signIn({ login: 'ada', password: 'secret12' });

    const tokens = await Promise.all([
      auth.renew(),
      auth.renew(),
      auth.renew()
    ]);
    expect(tokens).toEqual(['access-2', 'access-2', 'access-2']);
    expect(refreshes()).toBe(1);
    auth.dispose();
  });

  it('a renewal answered after the user signed out does not sign them back in', async () => {
    const { fake, auth } = setUp(60);
    let answer: (response: Response) => void = () => undefined;
    fake.reply(
      authReply('access-1', 900),
      () => new Promise<Response>(resolve => (answer = resolve)),
      noContent()
    );
    await auth.signIn({ login: 'ada', password: 'secret12' });

    const renewal = auth.renew();
    await vi.advanceTimersByTimeAsync(0);
    await auth.signOut();
    answer(authReply('access-2', 900));

    expect(await renewal).toBeNull();
    expect(auth.state.status).toBe('signed-out');
  });
});
