import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookCellExecutor, runCell } from '@jupyterlab/notebook';

import type { CodeCrafterClient } from './api';
import { CodeCrafterError } from './errors';
import type { IJob } from './models';
import { READ_ONLY_TEXT } from './texts';
import { ICodeCrafter, ISessionDocuments } from './tokens';

type RunCellOptions = INotebookCellExecutor.IRunCellOptions;

const FINAL = new Set([
  'succeeded',
  'failed',
  'timed_out',
  'memory_exceeded',
  'output_exceeded',
  'cancelled',
  'internal_error'
]);
// The room tells when a cell is done; the job is also read this often in
// case that news is late (a lost connection, a worker that died).
const POLL_MS = 5000;
// After the job ended, how long the room has to deliver the cell's last state.
const SETTLE_MS = 1000;

/** How the executor reaches the sessions; the plugin passes the real ones. */
export interface IExecutorDeps {
  documents: Pick<ISessionDocuments, 'sessionIdOf' | 'role'>;
  client: Pick<CodeCrafterClient, 'execute' | 'jobStatus'>;
  /** Core's runCell, for every cell this executor does not send. */
  runCell: (options: RunCellOptions) => Promise<boolean>;
  notify: (kind: 'error' | 'warning', message: string) => void;
  pollMs?: number;
  settleMs?: number;
}

/**
 * Runs notebook cells: a code cell of a session notebook (a notebook on the
 * CodeCrafter drive) goes to POST /execute and its outputs come back through
 * the shared document; every other cell, and every cell of any other
 * notebook, goes to core's runCell, as it would without this extension.
 */
export class SessionCellExecutor implements INotebookCellExecutor {
  constructor(deps: IExecutorDeps) {
    this._deps = deps;
  }

  runCell(options: RunCellOptions): Promise<boolean> {
    const path = options.sessionContext?.path ?? '';
    const sessionId = this._deps.documents.sessionIdOf(path);
    if (sessionId === null || options.cell.model.type !== 'code') {
      // Markdown renders and raw cells do nothing, exactly as core does it.
      return this._deps.runCell(options);
    }
    return this._runInSandbox(sessionId, options);
  }

  private async _runInSandbox(
    sessionId: string,
    options: RunCellOptions
  ): Promise<boolean> {
    const { cell, onCellExecuted, onCellExecutionScheduled } = options;
    const role = this._deps.documents.role(sessionId);
    if (role === null || role === 'read') {
      this._deps.notify('warning', READ_ONLY_TEXT);
      return false;
    }
    const model = cell.model as ICodeCellModel;
    const shared = model.sharedModel;
    const code = shared.getSource();
    if (!code.trim()) {
      // As core: an empty cell runs nothing and forgets its last run.
      shared.transact(() => {
        model.clearExecution();
      });
      onCellExecuted({ cell, success: true });
      return true;
    }
    onCellExecutionScheduled({ cell });
    // [*] at once; the server writes 'running' itself when the run starts.
    const running = (): boolean => shared.executionState === 'running';
    if (!running()) {
      shared.executionState = 'running';
    }
    let job: IJob;
    try {
      job = await this._queue(sessionId, {
        session_id: sessionId,
        cell_id: shared.getId(),
        code
      });
    } catch (error) {
      if (!cell.isDisposed && running()) {
        shared.executionState = 'idle';
      }
      this._deps.notify('error', describe(error));
      onCellExecuted({ cell, success: false });
      return false;
    }
    const final = await this._finished(job, model, () => cell.isDisposed);
    if (final === null) {
      return false;
    }
    const success = final.status === 'succeeded';
    onCellExecuted({ cell, success });
    return success;
  }

  /**
   * Send runs of one session one after another: Run All calls runCell for
   * every cell at once, and the server queues runs in the order it gets them.
   */
  private _queue(
    sessionId: string,
    body: Parameters<IExecutorDeps['client']['execute']>[0]
  ): Promise<IJob> {
    const previous = this._sending.get(sessionId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this._deps.client.execute(body));
    this._sending.set(sessionId, next);
    return next;
  }

  /** The job once it ended; null if the cell went away first. */
  private _finished(
    job: IJob,
    model: ICodeCellModel,
    gone: () => boolean
  ): Promise<IJob | null> {
    const pollMs = this._deps.pollMs ?? POLL_MS;
    return new Promise<IJob | null>(resolve => {
      let checking = false;
      const check = async (): Promise<void> => {
        if (gone()) {
          stop();
          resolve(null);
          return;
        }
        if (checking) {
          return;
        }
        checking = true;
        try {
          const current = await this._deps.client.jobStatus(job.id);
          if (FINAL.has(current.status)) {
            stop();
            await this._settle(model, gone);
            resolve(current);
          }
        } catch {
          // Keep waiting: the next change or poll asks again.
        } finally {
          checking = false;
        }
      };
      const onState = (): void => {
        if (model.sharedModel.executionState === 'idle') {
          void check();
        }
      };
      const timer = setInterval(() => void check(), pollMs);
      const stop = (): void => {
        clearInterval(timer);
        model.stateChanged.disconnect(onState);
      };
      model.stateChanged.connect(onState);
    });
  }

  /**
   * The job ended: give the room a moment to bring the cell's idle state,
   * then make sure [*] is gone (a run that failed before it started, or our
   * own 'running' that crossed the server's 'idle' on the way).
   */
  private async _settle(
    model: ICodeCellModel,
    gone: () => boolean
  ): Promise<void> {
    const shared = model.sharedModel;
    const running = (): boolean => shared.executionState === 'running';
    if (!running()) {
      return;
    }
    const settleMs = this._deps.settleMs ?? SETTLE_MS;
    await new Promise(resolve => setTimeout(resolve, settleMs));
    if (!gone() && running()) {
      shared.executionState = 'idle';
    }
  }

  private _deps: IExecutorDeps;
  private _sending = new Map<string, Promise<IJob>>();
}

function describe(error: unknown): string {
  if (error instanceof CodeCrafterError) {
    return error.describe();
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Provides INotebookCellExecutor. Core's executor plugin is disabled
 * (package.json, jupyterlab.disabledExtensions) because the last provider of
 * a token wins silently.
 */
export const executorPlugin: JupyterFrontEndPlugin<INotebookCellExecutor> = {
  id: 'jupyter-codecrafter:cell-executor',
  description:
    'Runs session notebook cells in their sandbox; every other notebook as JupyterLab does.',
  autoStart: true,
  provides: INotebookCellExecutor,
  requires: [ICodeCrafter, ISessionDocuments],
  activate: (
    _app: JupyterFrontEnd,
    codecrafter: ICodeCrafter,
    documents: ISessionDocuments
  ): INotebookCellExecutor =>
    new SessionCellExecutor({
      documents,
      client: codecrafter.client,
      runCell,
      notify: (kind, message) => {
        Notification.emit(message, kind, { autoClose: 8000 });
      }
    })
};
