import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';

import type { CodeCrafterClient, IAccessTokenSource } from './api';
import { CodeCrafterError } from './errors';
import type {
  IAuthReply,
  ILoginRequest,
  IRegisterRequest,
  IUser
} from './models';

/** Signed out (with why, when that was not the user's choice) or signed in. */
export type AuthState =
  | { readonly status: 'signed-out'; readonly reason: string | null }
  | { readonly status: 'signed-in'; readonly user: IUser };

export const EXPIRED_REASON = 'Your sign-in expired: sign in again.';

const SIGNED_OUT: AuthState = { status: 'signed-out', reason: null };
// setTimeout stores its delay in 32 bits; longer delays fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;
// Tabs of one browser share the refresh cookie, which is spent on use: two
// tabs refreshing at once would present the same one and the server would
// revoke the whole sign-in as reused. A Web Lock makes them take turns.
const REFRESH_LOCK = 'jupyter-codecrafter:refresh';

/**
 * Who is signed in to CodeCrafter, and their access token.
 *
 * The access token lives in memory only and is renewed before it expires;
 * the refresh token stays in an HttpOnly cookie that no script can read.
 * The manager makes itself the client's token source.
 */
export class AuthManager implements IAccessTokenSource, IDisposable {
  constructor(options: AuthManager.IOptions) {
    this.client = options.client;
    this.refreshMarginS = options.refreshMarginS ?? 60;
    this.client.tokenSource = this;
  }

  readonly client: CodeCrafterClient;

  /** Renew this many seconds before the access token expires (read at each renewal). */
  refreshMarginS: number;

  get state(): AuthState {
    return this._state;
  }

  get stateChanged(): ISignal<this, AuthState> {
    return this._stateChanged;
  }

  get user(): IUser | null {
    return this._state.status === 'signed-in' ? this._state.user : null;
  }

  get accessToken(): string | null {
    return this._token;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Resume the sign-in held by the refresh cookie (or, on a classroom
   * server, by Jupyter's own sign-in). Resolves signed out when there is none.
   */
  async restore(): Promise<AuthState> {
    const epoch = this._epoch;
    try {
      const reply = await lockedRefresh(this.client);
      this._acceptIfCurrent(epoch, reply);
    } catch (error) {
      if (epoch === this._epoch) {
        this._setSignedOut(restoreFailure(error));
      }
    }
    return this._state;
  }

  async signIn(request: ILoginRequest): Promise<IUser> {
    return this._accept(await this.client.login(request));
  }

  async register(request: IRegisterRequest): Promise<IUser> {
    return this._accept(await this.client.register(request));
  }

  /** Forget the token here at once, then revoke the sign-in on the server. */
  async signOut(): Promise<void> {
    this._setSignedOut(null);
    try {
      await this.client.logout();
    } catch (error) {
      // The cookie may survive, so a reload could sign back in; say so.
      console.warn('CodeCrafter: the server did not end the sign-in', error);
    }
  }

  /**
   * Exchange the refresh cookie for a new access token. Concurrent callers
   * share one exchange. On failure the user is signed out with the reason.
   */
  renew(): Promise<string | null> {
    this._renewing ??= this._renew().finally(() => {
      this._renewing = null;
    });
    return this._renewing;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._clearTimer();
    if (this.client.tokenSource === this) {
      this.client.tokenSource = null;
    }
    Signal.clearData(this);
  }

  private async _renew(): Promise<string | null> {
    if (this._state.status !== 'signed-in') {
      return null;
    }
    const epoch = this._epoch;
    try {
      const reply = await lockedRefresh(this.client);
      this._acceptIfCurrent(epoch, reply);
    } catch (error) {
      if (epoch === this._epoch) {
        this._setSignedOut(renewFailure(error));
      }
    }
    return this._token;
  }

  private _acceptIfCurrent(epoch: number, reply: IAuthReply): void {
    // A sign-in or sign-out that happened meanwhile wins over a late answer.
    if (epoch === this._epoch) {
      this._accept(reply);
    }
  }

  private _accept(reply: IAuthReply): IUser {
    this._token = reply.access_token;
    this._schedule(reply.expires_in);
    this._setState({ status: 'signed-in', user: reply.user });
    return reply.user;
  }

  private _setSignedOut(reason: string | null): void {
    this._token = null;
    this._clearTimer();
    this._setState(
      reason === null ? SIGNED_OUT : { status: 'signed-out', reason }
    );
  }

  private _setState(state: AuthState): void {
    this._epoch += 1;
    this._state = state;
    this._stateChanged.emit(state);
  }

  private _schedule(expiresInS: number): void {
    this._clearTimer();
    const delayMs = Math.min(
      renewalDelayS(expiresInS, this.refreshMarginS) * 1000,
      MAX_TIMER_MS
    );
    this._timer = setTimeout(() => {
      this._timer = null;
      void this.renew();
    }, delayMs);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _state: AuthState = SIGNED_OUT;
  private _stateChanged = new Signal<this, AuthState>(this);
  private _token: string | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _renewing: Promise<string | null> | null = null;
  // Counts state changes, so an answer can tell whether it is still wanted.
  private _epoch = 0;
  private _isDisposed = false;
}

export namespace AuthManager {
  export interface IOptions {
    client: CodeCrafterClient;
    /** Seconds before expiry to renew the access token; default 60. */
    refreshMarginS?: number;
  }
}

/**
 * Seconds until renewal: the margin before expiry, but no sooner than half the
 * lifetime, so a margin longer than the lifetime cannot renew in a loop.
 */
export function renewalDelayS(expiresInS: number, marginS: number): number {
  return Math.max(expiresInS - marginS, expiresInS / 2);
}

function lockedRefresh(client: CodeCrafterClient): Promise<IAuthReply> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  return locks
    ? locks.request(REFRESH_LOCK, () => client.refresh())
    : client.refresh();
}

function restoreFailure(error: unknown): string | null {
  // A 401 only means nobody is signed in: nothing to report.
  if (error instanceof CodeCrafterError && error.status === 401) {
    return null;
  }
  return `Could not restore your sign-in: ${describe(error)}`;
}

function renewFailure(error: unknown): string {
  if (error instanceof CodeCrafterError && error.status === 401) {
    return EXPIRED_REASON;
  }
  return `Could not renew your sign-in (${describe(error)}): sign in again.`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
