import type { INotebookCellExecutor } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type IExecutorDeps, SessionCellExecutor } from '../src/executor';
import type { IJob, SessionRole } from '../src/models';
import { sessionIdOf } from '../src/paths';
import { READ_ONLY_TEXT } from '../src/texts';
import { FakeFetch, apiError, bodyOf, json, makeClient, target } from './fakes';

// Core's notebook and apputils packages need a DOM to load; the executor
// only needs the token, core's runCell (passed in) and Notification.
vi.mock('@jupyterlab/notebook', async () => {
  const { Token } = await import('@lumino/coreutils');
  return {
    INotebookCellExecutor: new Token(
      '@jupyterlab/notebook:INotebookCellExecutor'
    ),
    runCell: vi.fn()
  };
});
vi.mock('@jupyterlab/apputils', () => ({ Notification: { emit: vi.fn() } }));

const SESSION_PATH = 'CodeCrafter:s1/Lesson 1.ipynb';

/** A cell whose shared model keeps its state like @jupyter/ydoc's. */
class FakeCell {
  constructor(
    readonly type: 'code' | 'markdown' | 'raw',
    source: string,
    readonly id: string
  ) {
    this._source = source;
  }
  isDisposed = false;
  readonly stateChanged = new Signal<this, unknown>(this);
  readonly cleared = vi.fn();
  private _source: string;
  private _state: 'running' | 'idle' = 'idle';

  get model() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const cell = this;
    return {
      type: this.type,
      stateChanged: this.stateChanged,
      clearExecution: this.cleared,
      sharedModel: {
        getSource: () => cell._source,
        getId: () => cell.id,
        transact: (f: () => void) => {
          f();
        },
        get executionState() {
          return cell._state;
        },
        set executionState(value: 'running' | 'idle') {
          cell.setState(value);
        }
      }
    };
  }

  get state(): 'running' | 'idle' {
    return this._state;
  }

  /** As the room would: the new state, then the model's signal. */
  setState(value: 'running' | 'idle'): void {
    this._state = value;
    this.stateChanged.emit({ name: 'executionState' });
  }
}

function job(status: IJob['status'], id = 'j1'): { job: Partial<IJob> } {
  return { job: { id, status } };
}

function setUp(role: SessionRole | null = 'write') {
  const fake = new FakeFetch();
  const client = makeClient(fake);
  client.tokenSource = {
    accessToken: 'access-1',
    renew: () => Promise.resolve(null)
  };
  const deps = {
    documents: { sessionIdOf, role: vi.fn(() => role) },
    client,
    runCell: vi.fn(() => Promise.resolve(true)),
    notify: vi.fn(),
    pollMs: 10,
    settleMs: 10
  } satisfies IExecutorDeps;
  return { fake, deps, executor: new SessionCellExecutor(deps) };
}

function runOptions(cell: FakeCell, path: string = SESSION_PATH) {
  return {
    cell,
    notebook: {},
    notebookConfig: {},
    sessionContext: { path },
    onCellExecuted: vi.fn(),
    onCellExecutionScheduled: vi.fn()
  } as unknown as INotebookCellExecutor.IRunCellOptions & {
    onCellExecuted: ReturnType<typeof vi.fn>;
    onCellExecutionScheduled: ReturnType<typeof vi.fn>;
  };
}

describe('the cell executor routes cells', () => {
  it("gives every cell of a notebook that is not a session to core's runCell, unchanged", async () => {
    const { fake, deps, executor } = setUp();
    const options = runOptions(
      new FakeCell('code', 'print(1)', 'c1'),
      'x.ipynb'
    );

    expect(await executor.runCell(options)).toBe(true);
    expect(deps.runCell).toHaveBeenCalledWith(options);
    expect(fake.requests).toHaveLength(0);
  });

  it("gives a session notebook's markdown and raw cells to core, which renders markdown", async () => {
    const { fake, deps, executor } = setUp();
    for (const type of ['markdown', 'raw'] as const) {
      await executor.runCell(runOptions(new FakeCell(type, '# Hi', 'm1')));
    }
    expect(deps.runCell).toHaveBeenCalledTimes(2);
    expect(fake.requests).toHaveLength(0);
  });

  it('sends a session code cell to POST /execute, shows [*] at once, and reports the run when it ends', async () => {
    const { fake, deps, executor } = setUp();
    const cell = new FakeCell('code', 'x = 6 * 7\nprint(x)', 'cell-1');
    const options = runOptions(cell);
    fake.reply(json(202, job('queued')), () => {
      cell.setState('idle'); // the room brought the end of the run
      return json(200, job('succeeded'));
    });

    const result = executor.runCell(options);
    expect(cell.state).toBe('running');
    expect(options.onCellExecutionScheduled).toHaveBeenCalledWith({ cell });

    expect(await result).toBe(true);
    const [post, status] = fake.requests;
    expect(post.method).toBe('POST');
    expect(target(post).path).toBe('/base/api/codecrafter/execute');
    expect(post.headers.get('Authorization')).toBe('Bearer access-1');
    expect(await bodyOf(post)).toEqual({
      session_id: 's1',
      cell_id: 'cell-1',
      code: 'x = 6 * 7\nprint(x)'
    });
    expect(target(status).path).toBe('/base/api/codecrafter/execute/status/j1');
    expect(options.onCellExecuted).toHaveBeenCalledWith({
      cell,
      success: true
    });
    expect(deps.runCell).not.toHaveBeenCalled();
  });

  it('reports a run that failed as not successful', async () => {
    const { fake, executor } = setUp();
    const cell = new FakeCell('code', '1/0', 'c1');
    const options = runOptions(cell);
    fake.reply(json(202, job('queued')), json(200, job('failed')));

    expect(await executor.runCell(options)).toBe(false);
    expect(options.onCellExecuted).toHaveBeenCalledWith({
      cell,
      success: false
    });
  });

  it('takes [*] away itself when the run ended and the room never said idle', async () => {
    const { fake, executor } = setUp();
    const cell = new FakeCell('code', 'print(1)', 'c1');
    fake.reply(json(202, job('queued')), json(200, job('internal_error')));

    await executor.runCell(runOptions(cell));
    expect(cell.state).toBe('idle');
  });

  it.each([
    [403, 'sandbox_required', 'This server has no sandbox.'],
    [403, 'forbidden', 'You cannot run code in this session.'],
    [429, 'rate_limited', 'Too many runs: wait 3 seconds.'],
    [503, 'queue_full', 'The run queue is full.']
  ])(
    'shows a %i %s answer as a notification with the server message, and the cell returns to idle',
    async (status, code, message) => {
      const { fake, deps, executor } = setUp();
      const cell = new FakeCell('code', 'print(1)', 'c1');
      const options = runOptions(cell);
      fake.reply(apiError(status, code, message));

      expect(await executor.runCell(options)).toBe(false);
      expect(deps.notify).toHaveBeenCalledWith('error', message);
      expect(cell.state).toBe('idle');
      expect(options.onCellExecuted).toHaveBeenCalledWith({
        cell,
        success: false
      });
    }
  );

  it('sends nothing for a reader: it says why, and writes nothing to the cell', async () => {
    const { fake, deps, executor } = setUp('read');
    const cell = new FakeCell('code', 'print(1)', 'c1');
    const options = runOptions(cell);

    expect(await executor.runCell(options)).toBe(false);
    expect(fake.requests).toHaveLength(0);
    expect(deps.notify).toHaveBeenCalledWith('warning', READ_ONLY_TEXT);
    expect(cell.state).toBe('idle');
    expect(options.onCellExecutionScheduled).not.toHaveBeenCalled();
  });

  it('runs an empty cell as core does: nothing is sent, its last run is cleared', async () => {
    const { fake, executor } = setUp();
    const cell = new FakeCell('code', '   \n', 'c1');
    const options = runOptions(cell);

    expect(await executor.runCell(options)).toBe(true);
    expect(fake.requests).toHaveLength(0);
    expect(cell.cleared).toHaveBeenCalled();
    expect(options.onCellExecuted).toHaveBeenCalledWith({
      cell,
      success: true
    });
  });
});

describe('Run All', () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the cells of a session one after another, in order, though it is asked for all at once', async () => {
    const { fake, executor } = setUp();
    const cells = ['a', 'b', 'c'].map(id => new FakeCell('code', id, id));
    const sent: string[] = [];
    let answered = 0;
    const post = async (request: Request): Promise<Response> => {
      const { cell_id } = (await bodyOf(request)) as { cell_id: string };
      // Each run is sent only after the one before it was answered.
      expect(answered).toBe(sent.length);
      sent.push(cell_id);
      answered += 1;
      return json(202, job('queued', cell_id));
    };
    const final = (request: Request): Response =>
      json(200, job('succeeded', target(request).path.split('/').at(-1)));
    fake.reply(post, post, post, final, final, final);

    const results = await Promise.all(
      cells.map(cell => executor.runCell(runOptions(cell)))
    );
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(results).toEqual([true, true, true]);
  });
});
