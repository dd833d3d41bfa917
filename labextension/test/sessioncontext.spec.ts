import type { Kernel } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { describe, expect, it, vi } from 'vitest';

import type { IKernelStatus } from '../src/models';
import type { RoomConnection } from '../src/room';
import { SandboxSession, SandboxSessionContext } from '../src/sessioncontext';

/** The parts of a room the session context reads. */
class FakeRoom {
  readonly sessionId = 's1';
  kernel: IKernelStatus = {
    state: 'none',
    worker: null,
    started_at: null,
    last_activity_at: null
  };
  connection: RoomConnection = 'connected';
  readonly changed = new Signal<this, void>(this);

  tell(kernel: Partial<IKernelStatus>): void {
    this.kernel = { ...this.kernel, ...kernel };
    this.changed.emit();
  }
}

const reconnect = vi.fn(() => Promise.resolve());

/** A kernel connection with its signals, a status, and `reconnect` above. */
function fakeKernel(): Kernel.IKernelConnection {
  reconnect.mockClear();
  const kernel = {
    id: 'codecrafter-s1',
    name: 'Python (sandbox)',
    status: 'idle',
    hasPendingInput: false,
    reconnect,
    dispose: vi.fn()
  };
  for (const name of [
    'statusChanged',
    'connectionStatusChanged',
    'iopubMessage',
    'unhandledMessage',
    'anyMessage',
    'pendingInput'
  ]) {
    Object.assign(kernel, { [name]: new Signal(kernel) });
  }
  return kernel as unknown as Kernel.IKernelConnection;
}

function contextOn(room: FakeRoom, kernel: Kernel.IKernelConnection) {
  const session = new SandboxSession({
    kernel,
    serverSettings: {} as never,
    path: 'CodeCrafter:s1/Lesson.ipynb',
    name: 'Lesson.ipynb'
  });
  return new SandboxSessionContext({
    session,
    source: room,
    sessionManager: {} as never,
    specsManager: {} as never,
    onNoKernelChange: () => undefined
  });
}

describe('the sandbox session context', () => {
  it("shows the room's kernel state and tells each change", () => {
    const room = new FakeRoom();
    const context = contextOn(room, fakeKernel());
    const told: Kernel.Status[] = [];
    context.statusChanged.connect((_, status) => told.push(status));
    expect(context.kernelDisplayStatus).toBe('unknown');
    room.tell({ state: 'starting' });
    room.tell({ state: 'idle', started_at: '10:00' });
    room.tell({ state: 'busy' });
    expect(told).toEqual(['starting', 'idle', 'busy']);
    expect(context.kernelDisplayStatus).toBe('busy');
  });

  it('says restarting and reconnects when someone replaced the kernel', () => {
    const room = new FakeRoom();
    const kernel = fakeKernel();
    const context = contextOn(room, kernel);
    room.tell({ state: 'idle', started_at: '10:00' });
    const told: Kernel.Status[] = [];
    context.statusChanged.connect((_, status) => told.push(status));
    expect(reconnect).not.toHaveBeenCalled();
    room.tell({ state: 'starting', started_at: null });
    expect(told).toEqual(['restarting', 'starting']);
    expect(reconnect).toHaveBeenCalledTimes(1);
    room.tell({ state: 'idle', started_at: '10:05' });
    expect(reconnect).toHaveBeenCalledTimes(1);
  });

  it('leaves the kernel to its own restart', () => {
    const room = new FakeRoom();
    const kernel = fakeKernel();
    contextOn(room, kernel);
    room.tell({ state: 'idle', started_at: '10:00' });
    (kernel as { status: Kernel.Status }).status = 'restarting';
    room.tell({ state: 'starting', started_at: null });
    expect(reconnect).not.toHaveBeenCalled();
  });
});
