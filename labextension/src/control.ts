/**
 * The room's own additions to the y-websocket protocol: control messages
 * (message type 10, a varstring of JSON) and the close codes that end a
 * session for this user (jupyter_codecrafter/rooms/protocol.py).
 */
import * as decoding from 'lib0/decoding';
import type { WebsocketProvider } from 'y-websocket';

import type { IKernelStatus, SessionRole } from './models';
import type { IControlMessage } from './tokens';

export const MESSAGE_CONTROL = 10;
/** Your access to the session was removed. */
export const CLOSE_REMOVED = 4403;
/** The session was deleted. */
export const CLOSE_DELETED = 4404;

/** Sent once when the server dropped an edit of a reader. */
export interface IReadOnlyMessage extends IControlMessage {
  readonly type: 'read_only';
  readonly message?: string;
}

/** The user's role in the session changed while connected. */
export interface IRoleMessage extends IControlMessage {
  readonly type: 'role';
  readonly role: SessionRole;
}

/** The session's sandbox kernel changed. */
export interface IKernelMessage extends IControlMessage {
  readonly type: 'kernel';
  readonly state: IKernelStatus['state'];
  readonly worker: string | null;
  readonly started_at: string | null;
  readonly last_activity_at: string | null;
}

/** A cell of the session waits for input() (or stopped waiting). */
export interface IInputMessage extends IControlMessage {
  readonly type: 'input';
  readonly waiting: boolean;
  readonly cell_id: string | null;
  readonly user_id: string | null;
}

const ROLES: readonly string[] = ['owner', 'admin', 'write', 'read'];
const KERNEL_STATES: readonly string[] = [
  'none',
  'starting',
  'idle',
  'busy',
  'dead'
];

export function isReadOnlyMessage(
  message: IControlMessage
): message is IReadOnlyMessage {
  return message.type === 'read_only';
}

export function isRoleMessage(
  message: IControlMessage
): message is IRoleMessage {
  const role = message.role;
  return (
    message.type === 'role' && typeof role === 'string' && ROLES.includes(role)
  );
}

export function isKernelMessage(
  message: IControlMessage
): message is IKernelMessage {
  const state = message.state;
  return (
    message.type === 'kernel' &&
    typeof state === 'string' &&
    KERNEL_STATES.includes(state)
  );
}

export function isInputMessage(
  message: IControlMessage
): message is IInputMessage {
  return message.type === 'input' && typeof message.waiting === 'boolean';
}

/** The kernel status a kernel message carries. */
export function kernelStatusOf(message: IKernelMessage): IKernelStatus {
  return {
    state: message.state,
    worker: message.worker ?? null,
    started_at: message.started_at ?? null,
    last_activity_at: message.last_activity_at ?? null
  };
}

/** A control payload, or null when it is not a JSON object with a type. */
export function parseControl(text: string): IControlMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    typeof (value as { type?: unknown }).type !== 'string'
  ) {
    return null;
  }
  return value as IControlMessage;
}

/**
 * Handle type 10 on this provider only: y-websocket copies its table of
 * message handlers into each provider, and logs types it has no handler for.
 */
export function handleControlMessages(
  provider: WebsocketProvider,
  handler: (message: IControlMessage) => void
): void {
  provider.messageHandlers[MESSAGE_CONTROL] = (_encoder, decoder) => {
    const message = parseControl(decoding.readVarString(decoder));
    if (message) {
      handler(message);
    } else {
      console.warn('CodeCrafter: ignored a malformed control message');
    }
  };
}

/** Close codes after which reconnecting cannot help (y-websocket would retry). */
export function isFinalClose(code: number | undefined): boolean {
  return code !== undefined && code >= 4400 && code <= 4499;
}
