/**
 * `input()` in a session notebook: the kernel asks the user who ran the cell
 * (the server sends its input_request to that user only, with the cell's id
 * in its metadata), and this shows JupyterLab's own stdin box in that cell.
 *
 * Cells run as jobs (executor.ts), not through this page's kernel
 * connection, so no future of the connection owns the request and core's
 * output area never sees it: this watches the connection's messages instead.
 * The box goes when it is answered, or when the run it belongs to ends (an
 * interrupt, or the server's timeout ended the wait).
 */
import { CodeCell } from '@jupyterlab/cells';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { Notebook } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import { isInputMessage } from './control';
import { cellIdOf, endsRun, runIdOf } from './inputrequests';
import { WAITING_FOR_INPUT } from './texts';
import type { IControlMessage } from './tokens';

/** The input boxes of one session notebook, for the runs of this user. */
export class InputPrompts implements IDisposable {
  constructor(notebook: Notebook, kernel: Kernel.IKernelConnection) {
    this._notebook = notebook;
    this._kernel = kernel;
    kernel.anyMessage.connect(this._onMessage);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._kernel.anyMessage.disconnect(this._onMessage);
    for (const box of this._boxes.values()) {
      box.dispose();
    }
    this._boxes.clear();
  }

  private _onMessage = (
    _: Kernel.IKernelConnection,
    { msg, direction }: Kernel.IAnyMessageArgs
  ): void => {
    if (direction !== 'recv') {
      return;
    }
    if (msg.channel === 'stdin' && msg.header.msg_type === 'input_request') {
      this._ask(msg as KernelMessage.IInputRequestMsg);
    } else if (endsRun(msg)) {
      this._close(runIdOf(msg));
    }
  };

  private _ask(msg: KernelMessage.IInputRequestMsg): void {
    const cellId = cellIdOf(msg);
    const cell = this._notebook.widgets.find(
      widget => widget.model.id === cellId
    );
    if (!(cell instanceof CodeCell)) {
      console.warn('CodeCrafter: input() asked in no cell of this notebook');
      return;
    }
    const run = runIdOf(msg) ?? '';
    this._close(run);
    const box = showStdin(cell, msg, (content, header) => {
      this._kernel.sendInputReply(content, header);
    });
    this._boxes.set(run, box);
    this._kernel.hasPendingInput = true;
    box.disposed.connect(() => {
      if (this._boxes.get(run) === box) {
        this._boxes.delete(run);
        this._kernel.hasPendingInput = this._boxes.size > 0;
      }
    });
  }

  private _close(run: string | null): void {
    const box = run === null ? undefined : this._boxes.get(run);
    box?.dispose();
  }

  private _notebook: Notebook;
  private _kernel: Kernel.IKernelConnection;
  private _boxes = new Map<string, Panel>();
  private _isDisposed = false;
}

type SendReply = (
  content: KernelMessage.IInputReply,
  header: KernelMessage.IInputReplyMsg['parent_header']
) => void;

/**
 * JupyterLab's stdin box at the end of the cell's outputs, built as core's
 * output area builds it (same factory, same classes); gone once answered.
 * The answer is not added to the outputs: the server writes those.
 */
function showStdin(
  cell: CodeCell,
  msg: KernelMessage.IInputRequestMsg,
  send: SendReply
): Panel {
  const area = cell.outputArea;
  const factory = area.contentFactory;
  const panel = new Panel();
  panel.addClass('jp-OutputArea-child');
  panel.addClass('jp-OutputArea-stdin-item');
  const prompt = factory.createOutputPrompt();
  prompt.addClass('jp-OutputArea-prompt');
  panel.addWidget(prompt);
  // The box only ever calls its future's sendInputReply.
  const future = { sendInputReply: send } as unknown as Kernel.IShellFuture;
  const input = factory.createStdin({
    parent_header: msg.header,
    prompt: msg.content.prompt,
    password: msg.content.password,
    future
  });
  input.addClass('jp-OutputArea-output');
  panel.addWidget(input);
  area.layout.addWidget(panel);
  void input.value.then(() => {
    panel.dispose();
  });
  input.node.querySelector('input')?.focus();
  return panel;
}

/**
 * Everyone else's view of an input() wait: the room says which cell waits
 * for whom, and the cell shows a note until the wait ends (the asker's own
 * pages show the input box instead).
 */
export class InputWaits implements IDisposable {
  constructor(options: InputWaits.IOptions) {
    this._notebook = options.notebook;
    this._me = options.me;
    this._control = options.control;
    this._control.connect(this._onControl);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._control.disconnect(this._onControl);
    for (const note of this._notes.values()) {
      note.dispose();
    }
    this._notes.clear();
  }

  private _onControl = (_: unknown, message: IControlMessage): void => {
    if (!isInputMessage(message) || message.cell_id === null) {
      return;
    }
    const cellId = message.cell_id;
    this._notes.get(cellId)?.dispose();
    this._notes.delete(cellId);
    if (!message.waiting || message.user_id === this._me()) {
      return;
    }
    const cell = this._notebook.widgets.find(w => w.model.id === cellId);
    if (cell instanceof CodeCell) {
      this._notes.set(cellId, showNote(cell, WAITING_FOR_INPUT));
    }
  };

  private _notebook: Notebook;
  private _me: () => string | null;
  private _control: ISignal<unknown, IControlMessage>;
  private _notes = new Map<string, Widget>();
  private _isDisposed = false;
}

export namespace InputWaits {
  export interface IOptions {
    notebook: Notebook;
    /** The signed-in user's id. */
    me: () => string | null;
    /** The session room's control messages. */
    control: ISignal<unknown, IControlMessage>;
  }
}

/** A line at the end of the cell's outputs, as an output of its own. */
function showNote(cell: CodeCell, text: string): Widget {
  const note = new Widget();
  note.addClass('jp-OutputArea-child');
  note.addClass('jp-CodeCrafter-inputWait');
  note.node.textContent = text;
  cell.outputArea.layout.addWidget(note);
  return note;
}
