// JupyterLab's own KernelConnection (@jupyterlab/services) against a session's kernel
// channel, pointed at it only through its server settings' wsUrl, as the frontend would.
// argv: base URL (http://host:port/), session id, access token. Prints one JSON line.
const { KernelConnection } = require('@jupyterlab/services/lib/kernel/default');
const { ServerConnection } = require('@jupyterlab/services');
const WebSocket = require('ws');

function settings(base, sessionId, token) {
  return ServerConnection.makeSettings({
    baseUrl: base,
    wsUrl: `${base.replace(/^http/, 'ws')}api/codecrafter/sessions/${sessionId}/kernel/`,
    token,
    appendToken: true,
    WebSocket,
  });
}

async function execute(kernel, code) {
  const printed = [];
  const future = kernel.requestExecute({ code }, true, { cellId: 'lab-cell' });
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') printed.push(msg.content.text);
  };
  const reply = await future.done;
  return { status: reply.content.status, printed: printed.join('') };
}

async function main() {
  const [base, sessionId, token] = process.argv.slice(2);
  const serverSettings = settings(base, sessionId, token);
  const kernel = new KernelConnection({ model: { id: 'lab-kernel', name: 'python3' }, serverSettings });
  const info = await kernel.info;
  const ran = await execute(kernel, 'lab_value = 6 * 7\nprint(lab_value)');
  const completed = await kernel.requestComplete({ code: 'lab_v', cursor_pos: 5 });
  const inspected = await kernel.requestInspect({ code: 'lab_value', cursor_pos: 3, detail_level: 0 });
  console.log(JSON.stringify({
    protocol: kernel['_selectedProtocol'],
    language: info.language_info.name,
    ran,
    matches: completed.content.matches,
    found: inspected.content.found,
  }));
  kernel.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
