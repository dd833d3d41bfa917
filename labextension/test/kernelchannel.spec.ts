import { describe, expect, it, vi } from 'vitest';

import {
  kernelChannelSettings,
  kernelChannelWsUrl,
  SandboxKernelAPIClient,
  SandboxKernelSpecAPIClient
} from '../src/kernelchannel';
import {
  displayStatus,
  kernelReplaced,
  sandboxStatus
} from '../src/sessioncontext';
import { isInputMessage } from '../src/control';
import { cellIdOf, endsRun, runIdOf } from '../src/inputrequests';
import type { ServerConnection } from '@jupyterlab/services';
import type { KernelMessage } from '@jupyterlab/services';

const settings = {} as ServerConnection.ISettings;

function message(
  channel: string,
  msgType: string,
  parts: { metadata?: object; parent?: object; content?: object } = {}
): KernelMessage.IMessage {
  return {
    channel,
    header: { msg_id: 'm1', msg_type: msgType },
    parent_header: parts.parent ?? {},
    metadata: parts.metadata ?? {},
    content: parts.content ?? {}
  } as unknown as KernelMessage.IMessage;
}

describe('the kernel channel settings', () => {
  const base = {
    baseUrl: 'http://host/base/',
    wsUrl: 'ws://host/base/',
    token: 'jupyter',
    appendToken: false
  } as ServerConnection.ISettings;

  it("point KernelConnection's wsUrl at the session's kernel", () => {
    expect(kernelChannelWsUrl('ws://host/base/', 's 1')).toBe(
      'ws://host/base/api/codecrafter/sessions/s%201/kernel/'
    );
  });

  it("carry the current access token in the URL, never Jupyter's", () => {
    let current: string | null = 'first';
    const settings = kernelChannelSettings(base, 's1', () => current);
    expect(settings.appendToken).toBe(true);
    expect(settings.token).toBe('first');
    current = 'renewed';
    expect(settings.token).toBe('renewed');
    current = null;
    expect(settings.token).toBe('');
    expect(settings.baseUrl).toBe('http://host/base/');
  });
});

describe('the sandbox kernel API client', () => {
  it('interrupts and restarts through the action, never shuts down', async () => {
    const act = vi.fn(() => Promise.resolve());
    const model = { id: 'codecrafter-s1', name: 'Python (sandbox)' };
    const client = new SandboxKernelAPIClient({
      serverSettings: settings,
      model,
      act
    });
    await client.interrupt();
    await client.restart();
    await client.shutdown();
    expect(act.mock.calls).toEqual([['interrupt'], ['restart']]);
    expect(await client.getModel()).toEqual(model);
    await expect(client.startNew()).rejects.toThrow();
  });

  it('knows only the sandbox kernel spec', async () => {
    const spec = {
      name: 'Python (sandbox)',
      display_name: 'Python (sandbox)',
      language: 'python',
      argv: [],
      resources: {}
    };
    const specs = await new SandboxKernelSpecAPIClient(settings, spec).get();
    expect(specs).toEqual({
      default: 'Python (sandbox)',
      kernelspecs: { 'Python (sandbox)': spec }
    });
  });
});

describe('the status a session notebook shows', () => {
  const room = (
    state: 'none' | 'idle' | 'busy',
    connection: 'connected' | 'connecting' = 'connected'
  ): Parameters<typeof displayStatus>[0] => ({
    kernel: { state, worker: null, started_at: null, last_activity_at: null },
    connection
  });

  it("is the room's kernel state, not the connection's", () => {
    expect(displayStatus(room('busy'), 'idle')).toBe('busy');
    expect(displayStatus(room('none'), 'idle')).toBe('unknown');
  });

  it('says restarting while a restart asked here is under way', () => {
    expect(sandboxStatus('idle', 'restarting')).toBe('restarting');
  });

  it("is the room's connection while the room is away", () => {
    expect(displayStatus(room('idle', 'connecting'), 'idle')).toBe(
      'connecting'
    );
  });
});

describe('a replaced kernel', () => {
  const at = (started_at: string | null) => ({ started_at });

  it('is one that ran and then stopped or started anew', () => {
    expect(kernelReplaced(at('10:00'), at(null))).toBe(true);
    expect(kernelReplaced(at('10:00'), at('10:05'))).toBe(true);
  });

  it('is not the first kernel starting, nor the same one', () => {
    expect(kernelReplaced(at(null), at('10:00'))).toBe(false);
    expect(kernelReplaced(at('10:00'), at('10:00'))).toBe(false);
  });
});

describe('input requests', () => {
  it('name their cell and their run', () => {
    const asked = message('stdin', 'input_request', {
      metadata: { codecrafter: { job_id: 'j1', cell_id: 'c1' } },
      parent: { msg_id: 'run-1' }
    });
    expect(cellIdOf(asked)).toBe('c1');
    expect(runIdOf(asked)).toBe('run-1');
    expect(cellIdOf(message('stdin', 'input_request'))).toBeNull();
  });

  it("are announced to the room as waits, whoever's", () => {
    const wait = { type: 'input', waiting: true, cell_id: 'c1', user_id: 'u1' };
    expect(isInputMessage(wait)).toBe(true);
    expect(isInputMessage({ type: 'input' })).toBe(false);
    expect(isInputMessage({ type: 'kernel', waiting: true })).toBe(false);
  });

  it('end with their run: an idle status', () => {
    const idle = { content: { execution_state: 'idle' } };
    const busy = { content: { execution_state: 'busy' } };
    expect(endsRun(message('iopub', 'status', idle))).toBe(true);
    expect(endsRun(message('iopub', 'status', busy))).toBe(false);
    expect(endsRun(message('iopub', 'stream', idle))).toBe(false);
  });
});
