import { describe, expect, it } from 'vitest';

import {
  formatDuration,
  formatExpiry,
  formatUses,
  formatWhen,
  hasRole,
  inviteState,
  NameBook,
  runDuration
} from '../src/details/format';
import type { IInvite, IJob, IUser } from '../src/models';

const NOW = Date.parse('2025-03-01T12:00:00Z');

function ago(ms: number): string {
  return new Date(NOW - ms).toISOString();
}

function job(overrides: Partial<IJob> = {}): IJob {
  return {
    id: 'j1',
    kind: 'cell',
    user_id: 'u1',
    status: 'succeeded',
    language: 'python',
    session_id: 's1',
    cell_id: 'c1',
    execution_count: 1,
    error: null,
    queued_at: ago(10_000),
    started_at: ago(9_000),
    finished_at: ago(6_500),
    ...overrides
  };
}

function invite(overrides: Partial<IInvite> = {}): IInvite {
  return {
    code: 'abc',
    url: 'http://lab/lab?codecrafter-invite=abc',
    session_id: 's1',
    role: 'write',
    created_at: ago(60_000),
    expires_at: null,
    max_uses: null,
    uses: 0,
    revoked: false,
    ...overrides
  };
}

const ada: IUser = {
  id: 'u1',
  username: 'ada',
  email: 'ada@example.org',
  display_name: 'Ada',
  role: 'user',
  created_at: '2025-01-01T00:00:00Z'
};

describe('formatDuration', () => {
  it.each([
    [0, '0.0 s'],
    [-5, '0.0 s'],
    [420, '0.4 s'],
    [9_949, '9.9 s'],
    [12_000, '12 s'],
    [60_000, '1 min'],
    [125_000, '2 min 5 s'],
    [3_600_000, '1 h'],
    [3_780_000, '1 h 3 min'],
    [86_399_000, '23 h 59 min'],
    [2 * 86_400_000 + 4 * 3_600_000, '2 d 4 h']
  ])('%d ms is "%s"', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatWhen', () => {
  it('is relative within the hour', () => {
    expect(formatWhen(ago(2_000), NOW)).toBe('just now');
    expect(formatWhen(ago(42_000), NOW)).toBe('42 s ago');
    expect(formatWhen(ago(5 * 60_000 + 10), NOW)).toBe('5 min ago');
  });

  it('is a time of day today, and a date before today', () => {
    const earlier = ago(2 * 3_600_000);
    expect(formatWhen(earlier, NOW)).toBe(
      new Date(earlier).toLocaleTimeString()
    );
    const before = ago(3 * 86_400_000);
    expect(formatWhen(before, NOW)).toBe(new Date(before).toLocaleString());
  });

  it('is empty for a date it cannot read', () => {
    expect(formatWhen('not a date', NOW)).toBe('');
  });
});

describe('runDuration', () => {
  it('is how long a finished run ran, from start to finish', () => {
    expect(runDuration(job(), NOW)).toBe('2.5 s');
  });

  it('counts a running run so far and a queued one as waiting', () => {
    const running = job({ status: 'running', finished_at: null });
    expect(runDuration(running, NOW)).toBe('9.0 s so far');
    const queued = job({
      status: 'queued',
      started_at: null,
      finished_at: null
    });
    expect(runDuration(queued, NOW)).toBe('waiting 10 s');
  });

  it('is empty for a run cancelled before it started', () => {
    const cancelled = job({ status: 'cancelled', started_at: null });
    expect(runDuration(cancelled, NOW)).toBe('');
  });
});

describe('invites', () => {
  it('an invite is revoked, expired, used up or active, in that order', () => {
    expect(inviteState(invite(), NOW)).toBe('active');
    expect(
      inviteState(invite({ revoked: true, uses: 9, max_uses: 1 }), NOW)
    ).toBe('revoked');
    expect(inviteState(invite({ expires_at: ago(1) }), NOW)).toBe('expired');
    expect(inviteState(invite({ max_uses: 2, uses: 2 }), NOW)).toBe('used up');
    expect(inviteState(invite({ max_uses: 2, uses: 1 }), NOW)).toBe('active');
  });

  it('says when an invite expires', () => {
    expect(formatExpiry(invite(), NOW)).toBe('never expires');
    const inADay = new Date(NOW + 86_400_000).toISOString();
    expect(formatExpiry(invite({ expires_at: inADay }), NOW)).toBe(
      'expires in 1 d'
    );
    expect(formatExpiry(invite({ expires_at: ago(0) }), NOW)).toBe('expired');
  });

  it('counts uses against the limit, or says there is none', () => {
    expect(formatUses(invite({ uses: 2, max_uses: 30 }))).toBe('2 of 30 uses');
    expect(formatUses(invite({ uses: 1 }))).toBe('1 use, no limit');
    expect(formatUses(invite({ uses: 0 }))).toBe('0 uses, no limit');
  });
});

describe('NameBook: who ran it', () => {
  it('names the signed-in user "(you)", from their display name', () => {
    expect(new NameBook(ada).who('u1')).toBe('Ada (you)');
  });

  it('learns names from collaborators and presence, display name first, else username', () => {
    const names = new NameBook(ada);
    names.learnCollaborators([
      {
        user: { id: 'u2', username: 'bob', display_name: 'Bob B.' },
        role: 'write',
        added_at: '2025-01-01T00:00:00Z'
      }
    ]);
    names.learnPresent([
      {
        user_id: 'u3',
        username: 'cy',
        display_name: '',
        role: 'read',
        colour: '#123456',
        connections: 1
      }
    ]);
    expect(names.who('u2')).toBe('Bob B.');
    expect(names.who('u3')).toBe('cy');
    expect(names.get('u3')).toEqual({ id: 'u3', name: 'cy', username: 'cy' });
  });

  it('keeps a name once learnt, and says "someone else" for a user never seen', () => {
    const names = new NameBook(ada);
    names.learnCollaborators([
      {
        user: { id: 'u2', username: 'bob', display_name: 'Bob' },
        role: 'write',
        added_at: '2025-01-01T00:00:00Z'
      }
    ]);
    names.learnCollaborators([]);
    expect(names.who('u2')).toBe('Bob');
    expect(names.who('u9')).toBe('someone else');
    expect(names.get('u9')).toBeNull();
  });
});

describe('hasRole', () => {
  it('orders read < write < admin < owner; no role has none', () => {
    expect(hasRole('owner', 'admin')).toBe(true);
    expect(hasRole('admin', 'admin')).toBe(true);
    expect(hasRole('write', 'admin')).toBe(false);
    expect(hasRole('write', 'write')).toBe(true);
    expect(hasRole('read', 'write')).toBe(false);
    expect(hasRole(null, 'read')).toBe(false);
  });
});
