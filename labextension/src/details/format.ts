/**
 * How the details view words times, durations, invites and people. Pure
 * functions of their arguments (the clock is passed in), so they are tested
 * without a browser.
 */
import type {
  ICollaborator,
  IInvite,
  IJob,
  IPresent,
  IUser,
  JobStatus,
  SessionRole
} from '../models';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The expiries offered when creating an invite, in seconds (null: never). */
export const EXPIRY_CHOICES: readonly {
  label: string;
  seconds: number | null;
}[] = [
  { label: 'Never', seconds: null },
  { label: '1 hour', seconds: 3600 },
  { label: '1 day', seconds: 86400 },
  { label: '1 week', seconds: 7 * 86400 }
];

/** A duration for people: "0.4 s", "12 s", "2 min 5 s", "1 h 3 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  const value = Math.max(0, ms);
  if (value < 10 * SECOND) {
    return `${(value / SECOND).toFixed(1)} s`;
  }
  if (value < MINUTE) {
    return `${Math.floor(value / SECOND)} s`;
  }
  const [big, bigUnit, small, smallUnit] =
    value < HOUR
      ? [MINUTE, 'min', SECOND, 's']
      : value < DAY
        ? [HOUR, 'h', MINUTE, 'min']
        : [DAY, 'd', HOUR, 'h'];
  const whole = Math.floor(value / big);
  const rest = Math.floor((value % big) / small);
  return rest
    ? `${whole} ${bigUnit} ${rest} ${smallUnit}`
    : `${whole} ${bigUnit}`;
}

/** When something happened, relative for the last hour: "just now", "5 min ago". */
export function formatWhen(iso: string, now: number): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) {
    return '';
  }
  const ago = now - time;
  if (ago < 5 * SECOND) {
    return 'just now';
  }
  if (ago < MINUTE) {
    return `${Math.floor(ago / SECOND)} s ago`;
  }
  if (ago < HOUR) {
    return `${Math.floor(ago / MINUTE)} min ago`;
  }
  const date = new Date(time);
  return new Date(now).toDateString() === date.toDateString()
    ? date.toLocaleTimeString()
    : date.toLocaleString();
}

/** The exact local time, for a tooltip beside a relative one. */
export function formatExact(iso: string | null): string {
  const time = iso === null ? NaN : Date.parse(iso);
  return Number.isNaN(time) ? '' : new Date(time).toLocaleString();
}

export const STATUS_LABELS: Record<JobStatus, string> = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timed out',
  memory_exceeded: 'out of memory',
  output_exceeded: 'too much output',
  cancelled: 'cancelled',
  internal_error: 'internal error'
};

/** Whether a run may still be cancelled. */
export function isPending(job: IJob): boolean {
  return job.status === 'queued' || job.status === 'running';
}

/**
 * How long a run took, or has been running or waiting so far; "" for a run
 * that ended before it started (cancelled in the queue).
 */
export function runDuration(job: IJob, now: number): string {
  const queued = Date.parse(job.queued_at);
  const started = job.started_at ? Date.parse(job.started_at) : NaN;
  const finished = job.finished_at ? Date.parse(job.finished_at) : NaN;
  if (job.status === 'queued') {
    return Number.isNaN(queued)
      ? ''
      : `waiting ${formatDuration(now - queued)}`;
  }
  if (Number.isNaN(started)) {
    return '';
  }
  if (Number.isNaN(finished)) {
    return `${formatDuration(now - started)} so far`;
  }
  return formatDuration(finished - started);
}

export type InviteState = 'active' | 'revoked' | 'expired' | 'used up';

export function inviteState(invite: IInvite, now: number): InviteState {
  if (invite.revoked) {
    return 'revoked';
  }
  if (invite.expires_at !== null && Date.parse(invite.expires_at) <= now) {
    return 'expired';
  }
  if (invite.max_uses !== null && invite.uses >= invite.max_uses) {
    return 'used up';
  }
  return 'active';
}

/** "Never expires", "expires in 23 h 59 min", "expired". */
export function formatExpiry(invite: IInvite, now: number): string {
  if (invite.expires_at === null) {
    return 'never expires';
  }
  const left = Date.parse(invite.expires_at) - now;
  if (Number.isNaN(left)) {
    return '';
  }
  return left <= 0 ? 'expired' : `expires in ${formatDuration(left)}`;
}

/** "2 of 30 uses", "1 use, no limit". */
export function formatUses(invite: IInvite): string {
  if (invite.max_uses !== null) {
    return `${invite.uses} of ${invite.max_uses} uses`;
  }
  return `${invite.uses} ${invite.uses === 1 ? 'use' : 'uses'}, no limit`;
}

/** A person as the view names them: their display name, else their username. */
export interface IPerson {
  id: string;
  name: string;
  username: string;
}

/**
 * Names of the people a session's runs mention. Runs carry only a user id,
 * so the view learns names from the collaborators and presence it loads, and
 * keeps them: someone removed since still has a name in the history.
 */
export class NameBook {
  constructor(me: IUser) {
    this._me = me.id;
    this._add(me.id, me.display_name, me.username);
  }

  learnCollaborators(collaborators: readonly ICollaborator[]): void {
    for (const { user } of collaborators) {
      this._add(user.id, user.display_name, user.username);
    }
  }

  learnPresent(present: readonly IPresent[]): void {
    for (const person of present) {
      this._add(person.user_id, person.display_name, person.username);
    }
  }

  /** The person, or null for someone never seen. */
  get(id: string): IPerson | null {
    return this._people.get(id) ?? null;
  }

  /** "Ada (you)", "Bob", or "someone else" for a user never seen. */
  who(id: string): string {
    const person = this._people.get(id);
    if (!person) {
      return 'someone else';
    }
    return id === this._me ? `${person.name} (you)` : person.name;
  }

  private _add(id: string, displayName: string, username: string): void {
    this._people.set(id, { id, name: displayName || username, username });
  }

  private _me: string;
  private _people = new Map<string, IPerson>();
}

const RANK: Record<SessionRole, number> = {
  read: 0,
  write: 1,
  admin: 2,
  owner: 3
};

/** Whether `role` is at least `minimum` (read < write < admin < owner). */
export function hasRole(
  role: SessionRole | null | undefined,
  minimum: SessionRole
): boolean {
  return role !== null && role !== undefined && RANK[role] >= RANK[minimum];
}
