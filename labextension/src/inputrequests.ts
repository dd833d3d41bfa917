/**
 * What the page reads from the kernel's messages about input(): which cell
 * asks (the server names it in the request's metadata), which run asks, and
 * when that run ends.
 */
import type { KernelMessage } from '@jupyterlab/services';

/** Where the server says which run and cell an input_request is for. */
interface IAskedBy {
  job_id?: unknown;
  cell_id?: unknown;
}

/** The cell an input_request asks in; null when it names none. */
export function cellIdOf(msg: KernelMessage.IMessage): string | null {
  const asked = (msg.metadata as { codecrafter?: IAskedBy }).codecrafter;
  const cellId = asked?.cell_id;
  return typeof cellId === 'string' && cellId ? cellId : null;
}

/** The id of the run (its execute_request) a message belongs to. */
export function runIdOf(msg: KernelMessage.IMessage): string | null {
  const parent = msg.parent_header as Partial<KernelMessage.IHeader>;
  return typeof parent.msg_id === 'string' ? parent.msg_id : null;
}

/** Whether a message says that a run ended (its kernel went idle). */
export function endsRun(msg: KernelMessage.IMessage): boolean {
  return (
    msg.channel === 'iopub' &&
    msg.header.msg_type === 'status' &&
    (msg.content as Partial<KernelMessage.IStatusMsg['content']>)
      .execution_state === 'idle'
  );
}
